/* Render BPMN diagrams (bpmn-js NavigatedViewer) and DMN decision tables (dmn-js Viewer).
 *
 * Markup:  <div class="diagram" data-kind="bpmn|dmn"
 *               data-src="/models/3/files/x.bpmn"     (or data-xml="<id of a JSON script>")
 *               data-current="task_a task_b"           elements where the instance waits
 *               data-done="start task_0"               elements already passed
 *               data-error="bad_element"></div>        elements a validation error names
 * A sibling .diagram-controls holds zoom buttons for keyboard and touch users.
 */
(function () {
  'use strict'
  var READABLE_ZOOM = 0.8

  function ids (node, name) {
    return (node.getAttribute('data-' + name) || '').split(/\s+/).filter(Boolean)
  }

  function loadXml (node) {
    var inline = node.getAttribute('data-xml')
    if (inline) {
      return Promise.resolve(JSON.parse(document.getElementById(inline).textContent))
    }
    return fetch(node.getAttribute('data-src'), { credentials: 'same-origin' }).then(function (resp) {
      if (!resp.ok) throw new Error('could not load the diagram (' + resp.status + ')')
      return resp.text()
    })
  }

  function fail (node, err) {
    node.setAttribute('data-rendered', 'failed')
    var message = document.createElement('p')
    message.className = 'field-error'
    message.textContent = 'This diagram cannot be drawn: ' + (err && err.message ? err.message : err)
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
    if (!window.BpmnJS) return fail(node, 'the BPMN viewer is not installed')
    var viewer = new window.BpmnJS({ container: node })
    return loadXml(node).then(function (xml) {
      return viewer.importXML(xml)
    }).then(function () {
      var canvas = viewer.get('canvas')
      var registry = viewer.get('elementRegistry')
      canvas.zoom('fit-viewport', 'auto')
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
    if (!window.DmnJS) return fail(node, 'the DMN viewer is not installed')
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
