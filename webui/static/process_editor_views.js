/* The editors of the process owners' editor page (model_editor.html), one per kind of file:
 *
 *   .bpmn  bpmn-js Modeler + properties panel (build/editors/bpmn-modeler.js, our bundle)
 *   .dmn   dmn-js Modeler, opened on its decision table
 *   .json  the form's JSON Schema, previewed live in the task page's renderer (json-editor)
 *
 * Each takes the page's context (webui/static/process_editor.js: config, changed, check,
 * api, el) and returns { content(): Promise<string>, mark(element ids), show?(id) }, or
 * null when its part of the page is missing. Loaded before process_editor.js.
 */
(function () {
  'use strict'
  var config, changed, check, api, el

  var EMPTY_BPMN = '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="definitions" targetNamespace="http://cbf5.example.org/bpmn">' +
    '<bpmn:process id="new_process" name="New process" isExecutable="true"><bpmn:startEvent id="start"/></bpmn:process>' +
    '<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="new_process">' +
    '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>' +
    '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>'

  function failed (node, what, err) {
    var message = el('p', 'field-error', what + ': ' + (err && err.message ? err.message : err))
    node.setAttribute('data-ready', 'failed')
    node.appendChild(message)
  }

  var READABLE_ZOOM = 1

  /* A large diagram fitted to the frame is too small to point at: the toolbar finds an
     element by its name (and selects it, for the properties panel) and zooms. */
  function toolbar (modeler, handle) {
    var bar = document.getElementById('editor-toolbar')
    var finder = document.getElementById('element-finder')
    if (!bar || !finder) return
    var nodes = modeler.get('elementRegistry').filter(function (e) {
      var bo = e.businessObject
      return e.type !== 'label' && bo && bo.$instanceOf &&
        (bo.$instanceOf('bpmn:FlowNode') || bo.$instanceOf('bpmn:Lane') || bo.$instanceOf('bpmn:Participant'))
    }).map(function (e) {
      var bo = e.businessObject
      var what = bo.$instanceOf('bpmn:Lane') ? 'Lane: ' : bo.$instanceOf('bpmn:Participant') ? 'Process: ' : ''
      return { id: e.id, label: what + (bo.name || '').replace(/\s+/g, ' ') }
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
      if (how === 'fit') canvas.zoom('fit-viewport', 'auto')
      else canvas.zoom(canvas.zoom() * (how === 'in' ? 1.25 : 0.8))
    })
    bar.hidden = false
  }

  function bpmnEditor () {
    var canvasNode = document.getElementById('bpmn-canvas')
    if (!canvasNode) return null
    if (!window.CaseworkBpmnModeler) { failed(canvasNode, 'The diagram editor is not installed', 'make install'); return null }
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
    modeler.importXML(config.content || EMPTY_BPMN).then(function () {
      modeler.get('canvas').zoom('fit-viewport', 'auto')
      toolbar(modeler, handle)
      modeler.on('commandStack.changed', changed)
      canvasNode.setAttribute('data-ready', 'true')
      return check(config.content || EMPTY_BPMN)
    }).catch(function (err) { failed(canvasNode, 'This diagram cannot be opened', err) })
    return handle
  }

  function dmnEditor () {
    var node = document.getElementById('dmn-editor')
    if (!node) return null
    if (!window.DmnJS) { failed(node, 'The decision table editor is not installed', 'make install'); return null }
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
    }).catch(function (err) { failed(node, 'This decision table cannot be opened', err) })
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
        errorNode.textContent = 'Not JSON yet: ' + err.message
        source.setAttribute('aria-invalid', 'true')
        return
      }
      errorNode.hidden = true
      source.removeAttribute('aria-invalid')
      api('POST', holder.getAttribute('data-preview-url'), { schema: schema }).then(function (resp) {
        if (!resp.ok) {
          errorNode.hidden = false
          errorNode.textContent = resp.body.message || 'This schema cannot be shown.'
          return
        }
        if (shown) shown.destroy()
        holder.textContent = ''
        if (!window.JSONEditor) { holder.textContent = 'The form renderer is not installed.'; return }
        /* the task page's renderer with the task page's options (webui/static/task_form.js) */
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
      return config.kind === 'bpmn' ? bpmnEditor() : config.kind === 'dmn' ? dmnEditor() : config.kind === 'form' ? formEditor() : null
    }
  }
})()
