/* Render BPMN diagrams (bpmn-js NavigatedViewer) and DMN decision tables (dmn-js Viewer).
 *
 * Markup:  <div class="diagram" data-kind="bpmn|dmn"
 *               data-src="/models/3/files/x.bpmn"     (or data-xml="<id of a JSON script>")
 *               data-current="task_a task_b"           elements where the instance waits
 *               data-done="start task_0"               elements already passed
 *               data-error="bad_element"></div>        elements a validation error names
 * A sibling .diagram-controls holds zoom buttons for keyboard and touch users. The words it
 * writes come from the page (_script_words.html: diagrams()).
 */
(function () {
  'use strict'
  var READABLE_ZOOM = 0.8
  var MIN_ZOOM = 0.75 // below this a task's name is too small to read
  var MARGIN = 20 // px of air around the diagram
  var w = window.scriptWords

  /* Fit the diagram to the frame, but never smaller than MIN_ZOOM: a diagram too large for
     that (case_management) opens at its start, its left edge (and its top, when it is also
     too tall) in view, for the reader to pan and zoom from. ``left``: px on the frame's
     left that something floats over (the editor's tool palette), kept clear. */
  function openReadable (canvas, options) {
    var left = ((options && options.left) || 0) + MARGIN
    canvas.zoom('fit-viewport', 'auto')
    var inner = canvas.viewbox().inner
    var size = canvas.getSize()
    if (!inner.width || !inner.height || !size.width || !size.height) return
    var room = { width: Math.max(size.width - left - MARGIN, 1), height: Math.max(size.height - 2 * MARGIN, 1) }
    var zoom = Math.max(MIN_ZOOM, Math.min(1, room.width / inner.width, room.height / inner.height))
    var width = size.width / zoom
    var height = size.height / zoom
    var y = inner.height * zoom <= room.height ? inner.y + inner.height / 2 - height / 2 : inner.y - MARGIN / zoom
    canvas.viewbox({ x: inner.x - left / zoom, y: y, width: width, height: height })
  }
  window.CaseworkDiagrams = { openReadable: openReadable }

  function ids (node, name) {
    return (node.getAttribute('data-' + name) || '').split(/\s+/).filter(Boolean)
  }

  function loadXml (node) {
    var inline = node.getAttribute('data-xml')
    if (inline) {
      return Promise.resolve(JSON.parse(document.getElementById(inline).textContent))
    }
    return fetch(node.getAttribute('data-src'), { credentials: 'same-origin' }).then(function (resp) {
      if (!resp.ok) throw new Error(w('diagram_not_loaded', { status: resp.status }))
      return resp.text()
    })
  }

  function fail (node, err) {
    node.setAttribute('data-rendered', 'failed')
    var message = document.createElement('p')
    message.className = 'field-error'
    message.textContent = w('diagram_cannot_be_drawn', { reason: err && err.message ? err.message : err })
    node.appendChild(message)
  }

  function markAll (canvas, registry, list, cls) {
    var found = []
    list.forEach(function (id) {
      if (registry.get(id)) {
        canvas.addMarker(id, cls)
        found.push(id)
      }
    })
    return found
  }

  /* A large diagram fitted to the frame is too small to read: zoom in on the element
     that matters (where the case waits, or the element in error), if it is not legible. */
  function focusOn (canvas, element) {
    if (!element || canvas.zoom() >= READABLE_ZOOM) return
    canvas.zoom(READABLE_ZOOM)
    var box = canvas.viewbox()
    canvas.viewbox({ x: element.x + element.width / 2 - box.width / 2, y: element.y + element.height / 2 - box.height / 2,
      width: box.width, height: box.height })
  }

  function renderBpmn (node) {
    if (!window.BpmnJS) return fail(node, w('bpmn_viewer_missing'))
    var viewer = new window.BpmnJS({ container: node })
    return loadXml(node).then(function (xml) {
      return viewer.importXML(xml)
    }).then(function () {
      var canvas = viewer.get('canvas')
      var registry = viewer.get('elementRegistry')
      openReadable(canvas)
      markAll(canvas, registry, ids(node, 'done'), 'highlight-done')
      var current = markAll(canvas, registry, ids(node, 'current'), 'highlight-current')
      var errors = markAll(canvas, registry, ids(node, 'error'), 'highlight-error')
      focusOn(canvas, registry.get(errors[0] || current[0]))
      node.setAttribute('data-marked', current.concat(errors).join(' '))
      node.setAttribute('data-rendered', 'true')
      wireControls(node, canvas)
    }).catch(function (err) { fail(node, err) })
  }

  function renderDmn (node) {
    if (!window.DmnJS) return fail(node, w('dmn_viewer_missing'))
    var viewer = new window.DmnJS({ container: node })
    return loadXml(node).then(function (xml) {
      return viewer.importXML(xml)
    }).then(function () {
      var table = viewer.getViews().filter(function (v) { return v.type === 'decisionTable' })[0]
      if (table) return viewer.open(table)
    }).then(function () {
      node.setAttribute('data-rendered', 'true')
      ids(node, 'error').forEach(function (id) {
        var cell = node.querySelector('[data-element-id="' + id + '"], [data-row-id="' + id + '"], [data-col-id="' + id + '"]')
        if (cell) cell.classList.add('highlight-error-cell')
      })
    }).catch(function (err) { fail(node, err) })
  }

  function wireControls (node, canvas) {
    var controls = node.parentNode.querySelector('.diagram-controls')
    if (!controls) return
    controls.hidden = false
    controls.addEventListener('click', function (event) {
      var button = event.target.closest('button[data-zoom]')
      if (!button) return
      var how = button.getAttribute('data-zoom')
      if (how === 'fit') canvas.zoom('fit-viewport', 'auto')
      else canvas.zoom(canvas.zoom() * (how === 'in' ? 1.25 : 0.8))
    })
  }

  document.querySelectorAll('.diagram[data-kind]').forEach(function (node) {
    if (node.getAttribute('data-kind') === 'dmn') renderDmn(node)
    else renderBpmn(node)
  })
})()
