/* The editors of the process owners' editor page (model_editor.html), one per kind of file:
 *
 *   .bpmn  bpmn-js Modeler + properties panel (build/editors/bpmn-modeler.js, our bundle)
 *   .dmn   dmn-js Modeler, opened on its decision table
 *   .json  the form's JSON Schema, previewed live in the task page's renderer (json-editor)
 *
 * Each takes the page's context (webui/static/process_editor.js: config, changed, check,
 * api, el, words) and returns { content(): Promise<string>, mark(element ids), show?(id) }, or
 * null when its part of the page is missing. Loaded before process_editor.js. The words it
 * writes come from the page (_script_words.html: editor()).
 */
(function () {
  'use strict'
  var config, changed, check, api, el, w

  function emptyBpmn () {
    var name = w('new_process').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
    return '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="definitions" targetNamespace="http://cbf5.example.org/bpmn">' +
      '<bpmn:process id="new_process" name="' + name + '" isExecutable="true"><bpmn:startEvent id="start"/></bpmn:process>' +
      '<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="new_process">' +
      '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>' +
      '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>'
  }

  function failed (node, key, reason) {
    var message = el('p', 'field-error', w(key, { reason: reason && reason.message ? reason.message : reason }))
    node.setAttribute('data-ready', 'failed')
    node.appendChild(message)
  }

  /* Open (and re-fit) the diagram readable and clear of the modeler's tool palette, which
     floats over the canvas's left edge (diagrams.js: CaseworkDiagrams.openReadable). */
  function fitClearOfPalette (modeler, canvasNode) {
    var palette = canvasNode.querySelector('.djs-palette')
    var left = palette ? palette.getBoundingClientRect().right - canvasNode.getBoundingClientRect().left : 0
    if (window.CaseworkDiagrams) window.CaseworkDiagrams.openReadable(modeler.get('canvas'), { left: Math.max(left, 0) })
    else modeler.get('canvas').zoom('fit-viewport', 'auto')
  }

  var READABLE_ZOOM = 1

  /* A large diagram fitted to the frame is too small to point at: the toolbar finds an
     element by its name (and selects it, for the properties panel) and zooms. */
  function toolbar (modeler, handle, canvasNode) {
    var bar = document.getElementById('editor-toolbar')
    var finder = document.getElementById('element-finder')
    if (!bar || !finder) return
    var nodes = modeler.get('elementRegistry').filter(function (e) {
      var bo = e.businessObject
      return e.type !== 'label' && bo && bo.$instanceOf &&
        (bo.$instanceOf('bpmn:FlowNode') || bo.$instanceOf('bpmn:Lane') || bo.$instanceOf('bpmn:Participant'))
    }).map(function (e) {
      var bo = e.businessObject
      var name = (bo.name || '').replace(/\s+/g, ' ')
      var label = bo.$instanceOf('bpmn:Lane') ? w('lane', { name: name })
        : bo.$instanceOf('bpmn:Participant') ? w('process', { name: name }) : name
      return { id: e.id, label: label }
    })
    nodes.sort(function (a, b) { return (a.label || a.id).localeCompare(b.label || b.id) })
    nodes.forEach(function (n) {
      var option = el('option', '', (n.label ? n.label + ' ' : '') + '(' + n.id + ')')
      option.value = n.id
      finder.appendChild(option)
    })
    finder.addEventListener('change', function () { if (finder.value) handle.show(finder.value) })
    bar.addEventListener('click', function (event) {
      var button = event.target.closest('button[data-zoom]')
      if (!button) return
      var canvas = modeler.get('canvas')
      var how = button.getAttribute('data-zoom')
      if (how === 'fit') fitClearOfPalette(modeler, canvasNode)
      else canvas.zoom(canvas.zoom() * (how === 'in' ? 1.25 : 0.8))
    })
    bar.hidden = false
  }

  function bpmnEditor () {
    var canvasNode = document.getElementById('bpmn-canvas')
    if (!canvasNode) return null
    if (!window.CaseworkBpmnModeler) { failed(canvasNode, 'editor_missing'); return null }
    var modeler = window.CaseworkBpmnModeler.create({ container: canvasNode, propertiesParent: document.getElementById('properties-panel'),
      vocabulary: config.vocabulary })
    var marked = []
    var handle = {
      content: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml }) },
      mark: function (ids) {
        var canvas = modeler.get('canvas')
        var registry = modeler.get('elementRegistry')
        marked.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, 'highlight-error') })
        marked = ids.filter(function (id) { return registry.get(id) })
        marked.forEach(function (id) { canvas.addMarker(id, 'highlight-error') })
        canvasNode.setAttribute('data-marked', marked.join(' '))
      },
      show: function (id) {
        var element = modeler.get('elementRegistry').get(id)
        if (!element) return
        var canvas = modeler.get('canvas')
        if (canvas.zoom() < READABLE_ZOOM) canvas.zoom(READABLE_ZOOM)
        var box = canvas.viewbox()
        canvas.viewbox({ x: element.x + element.width / 2 - box.width / 2, y: element.y + element.height / 2 - box.height / 2,
          width: box.width, height: box.height })
        modeler.get('selection').select(element)
      }
    }
    var opened = config.content || emptyBpmn()
    modeler.importXML(opened).then(function () {
      fitClearOfPalette(modeler, canvasNode)
      toolbar(modeler, handle, canvasNode)
      modeler.on('commandStack.changed', changed)
      canvasNode.setAttribute('data-ready', 'true')
      return check(opened)
    }).catch(function (err) { failed(canvasNode, 'diagram_not_opened', err) })
    return handle
  }

  function dmnEditor () {
    var node = document.getElementById('dmn-editor')
    if (!node) return null
    if (!window.DmnJS) { failed(node, 'table_editor_missing'); return null }
    var modeler = new window.DmnJS({ container: node })
    var marked = []
    modeler.importXML(config.content).then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === 'decisionTable' })[0]
      return table ? modeler.open(table) : null
    }).then(function () {
      var viewer = modeler.getActiveViewer()
      if (viewer) viewer.get('eventBus').on('elements.changed', changed)
      node.setAttribute('data-ready', 'true')
      return check(config.content)
    }).catch(function (err) { failed(node, 'table_not_opened', err) })
    return {
      content: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml }) },
      mark: function (ids) {
        marked.forEach(function (cell) { cell.classList.remove('highlight-error-cell') })
        marked = []
        ids.forEach(function (id) {
          node.querySelectorAll('[data-element-id="' + id + '"], [data-row-id="' + id + '"], [data-col-id="' + id + '"]')
            .forEach(function (cell) { cell.classList.add('highlight-error-cell'); marked.push(cell) })
        })
      }
    }
  }

  function formEditor () {
    var source = document.getElementById('form-source')
    var holder = document.getElementById('form-preview')
    if (!source || !holder) return null
    var shown = null
    var previewTimer = null
    var errorNode = document.getElementById('form-source-error')

    function preview () {
      var schema
      try { schema = JSON.parse(source.value) } catch (err) {
        errorNode.hidden = false
        errorNode.textContent = w('not_json_yet', { reason: err.message })
        source.setAttribute('aria-invalid', 'true')
        return
      }
      errorNode.hidden = true
      source.removeAttribute('aria-invalid')
      api('POST', holder.getAttribute('data-preview-url'), { schema: schema }).then(function (resp) {
        if (!resp.ok) {
          errorNode.hidden = false
          errorNode.textContent = resp.body.message || w('schema_not_shown')
          return
        }
        if (shown) shown.destroy()
        holder.textContent = ''
        if (!window.JSONEditor) { holder.textContent = w('renderer_missing'); return }
        /* the task page's renderer with the task page's options and button words (webui/static/task_form.js) */
        window.JSONEditor.defaults.languages.casework = Object.assign({}, window.JSONEditor.defaults.languages.en, {
          button_add_row_title: w('add_row'), button_delete_row_title: w('remove_row'), button_delete_row_title_short: w('remove'),
          button_move_up_title: w('move_up'), button_move_down_title: w('move_down')
        })
        window.JSONEditor.defaults.language = 'casework'
        shown = new window.JSONEditor(holder, { schema: resp.body.schema, theme: 'html', iconlib: null, disable_edit_json: true,
          disable_properties: true, disable_collapse: true, disable_array_delete_all_rows: true,
          disable_array_delete_last_row: true, no_additional_properties: true, required_by_default: false,
          show_errors: 'interaction', prompt_before_delete: false })
        shown.on('ready', function () { holder.setAttribute('data-ready', 'true') })
      })
    }

    source.addEventListener('input', function () {
      changed()
      clearTimeout(previewTimer)
      previewTimer = setTimeout(preview, 300)
    })
    preview()
    check(source.value)
    return { content: function () { return Promise.resolve(source.value) }, mark: function () {} }
  }

  window.CaseworkEditorViews = {
    open: function (ctx) {
      config = ctx.config
      changed = ctx.changed
      check = ctx.check
      api = ctx.api
      el = ctx.el
      w = ctx.words
      return config.kind === 'bpmn' ? bpmnEditor() : config.kind === 'dmn' ? dmnEditor() : config.kind === 'form' ? formEditor() : null
    }
  }
})()
