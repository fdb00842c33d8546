/* The task form: rendered from the task's JSON Schema by @json-editor/json-editor.
 *
 * The editor gives hints while someone types; the server is the authority. On submit
 * the answers go to the page route as JSON in a hidden field; a 422 comes back as the
 * same page with each field's error, which this script puts under the field.
 */
(function () {
  'use strict'
  var holder = document.getElementById('form-editor')
  var form = document.getElementById('task-form')
  if (!holder || !form || !window.JSONEditor) return

  function readJson (id) {
    var node = document.getElementById(id)
    return node ? JSON.parse(node.textContent) : null
  }

  var schema = readJson('form-schema')
  var startval = readJson('form-data')
  var serverErrors = readJson('form-errors') || {}
  var required = schema.required || []

  holder.textContent = ''
  holder.removeAttribute('data-loading')
  var options = {
    schema: schema,
    theme: 'html',
    iconlib: null,
    disable_edit_json: true,
    disable_properties: true,
    disable_collapse: true,
    disable_array_delete_all_rows: true,
    disable_array_delete_last_row: true,
    no_additional_properties: true,
    required_by_default: false,
    show_errors: 'interaction',
    prompt_before_delete: false
  }
  var editor = new window.JSONEditor(holder, options)

  function fieldContainer (path) {
    /* "red_needs.0" -> the closest rendered editor: root.red_needs.0, then root.red_needs */
    var parts = path.split('.')
    while (parts.length) {
      var node = holder.querySelector('[data-schemapath="root.' + parts.join('.') + '"]')
      if (node) return node
      parts.pop()
    }
    return null
  }

  function showServerErrors () {
    Object.keys(serverErrors).forEach(function (path, index) {
      var container = fieldContainer(path)
      if (!container) return
      var message = document.createElement('p')
      message.className = 'field-error server-error'
      message.id = 'server-error-' + index
      message.textContent = serverErrors[path].join('; ')
      container.classList.add('has-error')
      container.appendChild(message)
      container.querySelectorAll('input, select, textarea').forEach(function (input) {
        input.setAttribute('aria-invalid', 'true')
        var described = input.getAttribute('aria-describedby')
        input.setAttribute('aria-describedby', (described ? described + ' ' : '') + message.id)
      })
      var anchorId = 'field-' + path.replace(/[^A-Za-z0-9_-]/g, '-')
      container.id = container.id || anchorId
      var summaryItem = document.querySelector('#error-summary li[data-field="' + path + '"]')
      if (summaryItem && !summaryItem.querySelector('a')) {
        var link = document.createElement('a')
        link.href = '#' + container.id
        link.textContent = summaryItem.textContent
        summaryItem.textContent = ''
        summaryItem.appendChild(link)
      }
    })
    var summary = document.getElementById('error-summary')
    if (summary) summary.focus()
  }

  function answers () {
    /* Leave out what the system fills in (readOnly) and optional questions nobody
       answered: "" and undefined mean "not given". */
    var value = editor.getValue() || {}
    var properties = schema.properties || {}
    Object.keys(value).forEach(function (key) {
      var readOnly = properties[key] && (properties[key].readOnly || properties[key].readonly)
      var empty = value[key] === '' || value[key] === undefined || value[key] === null
      if (readOnly || (empty && required.indexOf(key) === -1)) delete value[key]
    })
    return value
  }

  function tidy () {
    /* Questions read top-down: label, help text, then the answer; a group of checkboxes
       is announced by its question (role=group + aria-labelledby). */
    holder.querySelectorAll('[data-schemapath^="root."]').forEach(function (field, index) {
      var path = field.getAttribute('data-schemapath').replace('root.', '')
      var help = field.querySelector(':scope > div > p.je-form-input-label, :scope > .form-control > p.je-form-input-label, :scope > .control-group > p.je-form-input-label')
      if (help) help.classList.add('field-help')
      var group = field.querySelector(':scope > .control-group')
      if (group) {
        var heading = group.querySelector(':scope > b')
        if (heading) {
          heading.id = heading.id || 'question-' + index
          group.setAttribute('role', 'group')
          group.setAttribute('aria-labelledby', heading.id)
          heading.classList.add('question')
          if (help) {
            help.id = help.id || 'help-' + index
            group.setAttribute('aria-describedby', help.id)
            heading.insertAdjacentElement('afterend', help)
          }
        }
      } else if (help) {
        var label = field.querySelector('label.je-form-input-label')
        if (label) label.insertAdjacentElement('afterend', help)
      }
      if (required.indexOf(path) !== -1) {
        var title = field.querySelector('label.je-form-input-label, .control-group > b')
        if (title) title.classList.add('required')
      }
    })
  }

  function askInsteadOfDefaulting () {
    /* json-editor preselects the first choice (or "No") of a required question; a
       question with a "choose" option starts unanswered unless it was answered before. */
    var properties = schema.properties || {}
    Object.keys(properties).forEach(function (key) {
      var options = properties[key].options || {}
      if (options.has_placeholder_option && !(startval && key in startval)) {
        var field = editor.getEditor('root.' + key)
        if (field) field.setValue(undefined, true)
      }
    })
  }

  function restoreAnswers () {
    /* Put back what was submitted before (a 422 comes back with it), field by field:
       handing json-editor a partial start value would drop the unanswered questions. */
    Object.keys(startval || {}).forEach(function (key) {
      var field = editor.getEditor('root.' + key)
      if (field) field.setValue(startval[key])
    })
  }

  editor.on('ready', function () {
    restoreAnswers()
    askInsteadOfDefaulting()
    tidy()
    showServerErrors()
  })

  form.addEventListener('submit', function () {
    var hidden = form.querySelector('input[name="data_json"]')
    if (!hidden) {
      hidden = document.createElement('input')
      hidden.type = 'hidden'
      hidden.name = 'data_json'
      form.appendChild(hidden)
    }
    hidden.value = JSON.stringify(answers())
  })
})()
