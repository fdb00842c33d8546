/* The task form: rendered from the task's JSON Schema by @json-editor/json-editor.
 *
 * The server is the authority: it checks the answers on submit and a refusal comes back as
 * the same page with each field's error in words, which this script puts beside the field.
 * The editor's own error messages stay off, so nothing says "Value required." on a field
 * nobody has touched yet, or on one already filled in.
 *
 * Text is kept exactly as typed: the editor would strip anything that looks like HTML from
 * an answer (the client's own words, "<she said no>", are what must be kept), and the
 * browser would silently cut a pasted text at the field's limit. Here a text with a limit
 * shows a counter, "1,234 of 4,000 characters", that says when it is too long; the server
 * refuses a text over the limit with a message, it never cuts one.
 *
 * The risk rating form shows the level the risk_level decision suggests as needs are ticked
 * (POST /api/decisions/risk_level/suggest; nothing is stored).
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

  /* Answers are kept as written; the page escapes them wherever it shows them. */
  var editors = window.JSONEditor.defaults.editors
  /* json-editor shows its own errors once when it builds the form (whatever show_errors
     says) and never takes them back: "Value required." under a field that was then filled
     in. Its messages stay off; the server's, in words, are put beside the field below. */
  Object.keys(editors).forEach(function (name) {
    if (editors[name] && editors[name].prototype) editors[name].prototype.showValidationErrors = function () {}
  })
  if (editors.string) {
    /* purify: DOMPurify or tag stripping on every value set; sanitize: on every keystroke.
       Both would drop "<she said no>"; the value only ever goes into an input's value. */
    editors.string.prototype.purify = function (value) { return value }
    editors.string.prototype.sanitize = function (value) { return value }
  }

  /* The array buttons in the page's words and in sentence case, as every other button
     ("Remove referral", not json-editor's "Delete Referral"): task.html's data-words-*. */
  var words = holder.dataset
  window.JSONEditor.defaults.languages.casework = Object.assign({}, window.JSONEditor.defaults.languages.en, {
    button_add_row_title: words.wordsAddRow,
    button_delete_row_title: words.wordsRemoveRow,
    button_delete_row_title_short: words.wordsRemove,
    button_move_up_title: words.wordsMoveUp,
    button_move_down_title: words.wordsMoveDown
  })
  window.JSONEditor.defaults.language = 'casework'
  var translate = window.JSONEditor.defaults.translate
  window.JSONEditor.defaults.translate = function (key, variables, schema) {
    /* an item's title inside a sentence: "Referral" -> "referral" ("SMS" stays as it is) */
    var inSentence = (variables || []).map(function (value) {
      var text = String(value)
      return text.charAt(1) === text.charAt(1).toUpperCase() ? text : text.charAt(0).toLowerCase() + text.slice(1)
    })
    return translate(key, inSentence, schema)
  }

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
    show_errors: 'never',
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

  function clearError (container, message) {
    container.classList.remove('has-error')
    if (message.parentNode) message.parentNode.removeChild(message)
    container.querySelectorAll('[aria-invalid]').forEach(function (input) { input.removeAttribute('aria-invalid') })
  }

  function showServerErrors () {
    Object.keys(serverErrors).forEach(function (path, index) {
      var container = fieldContainer(path)
      if (!container) return
      var message = document.createElement('p')
      message.className = 'field-error server-error'
      message.id = 'server-error-' + index
      message.textContent = serverErrors[path].join(' ')
      container.classList.add('has-error')
      var control = container.querySelector('input, select, textarea')
      var anchor = control && control.closest('.form-control, .control-group, div')
      if (anchor && anchor.parentNode === container) anchor.insertAdjacentElement('afterend', message)
      else container.appendChild(message)
      container.querySelectorAll('input, select, textarea').forEach(function (input) {
        input.setAttribute('aria-invalid', 'true')
        var described = input.getAttribute('aria-describedby')
        input.setAttribute('aria-describedby', (described ? described + ' ' : '') + message.id)
      })
      /* once the answer changes, its old error no longer applies */
      container.addEventListener('input', function () { clearError(container, message) }, { once: true })
      container.addEventListener('change', function () { clearError(container, message) }, { once: true })
      var anchorId = 'field-' + path.replace(/[^A-Za-z0-9_-]/g, '-')
      container.id = container.id || anchorId
      var summaryItem = document.querySelector('#error-summary li[data-field="' + path + '"]')
      if (summaryItem && !summaryItem.querySelector('a')) {
        var link = document.createElement('a')
        link.href = '#' + container.id
        while (summaryItem.firstChild) link.appendChild(summaryItem.firstChild)
        summaryItem.appendChild(link)
      }
    })
    var summary = document.getElementById('error-summary')
    if (summary) summary.focus()
  }

  /* -- long texts: a counter and the limit, never a silent cut ------------------------ */
  function countCharacters (text) {
    return Array.from(text || '').length /* code points, as the server counts */
  }

  function updateCounter (input) {
    var limit = Number(input.getAttribute('data-max-length'))
    var counter = document.getElementById(input.getAttribute('data-counter'))
    if (!counter) return
    var used = countCharacters(input.value)
    /* in the page's language: page.js (loaded first, on every page) */
    counter.textContent = window.countedCharacters(used, limit)
    counter.classList.toggle('over', used > limit)
  }

  var counted = 0
  function addCounters () {
    holder.querySelectorAll('input[maxlength], textarea[maxlength]').forEach(function (input) {
      input.setAttribute('data-max-length', input.getAttribute('maxlength'))
      input.removeAttribute('maxlength') /* the browser would cut a pasted text without a word */
      counted += 1
      var counter = document.createElement('p')
      counter.className = 'char-count'
      counter.id = 'char-count-' + counted
      counter.setAttribute('aria-live', 'polite')
      input.setAttribute('data-counter', counter.id)
      var described = input.getAttribute('aria-describedby')
      input.setAttribute('aria-describedby', (described ? described + ' ' : '') + counter.id)
      input.insertAdjacentElement('afterend', counter)
      input.addEventListener('input', function () { updateCounter(input) })
      updateCounter(input)
    })
  }

  /* -- the risk level the needs suggest ---------------------------------------------------- */
  /* the words in the page's language: task.html's script words (_script_words.html: task_form()) */
  var w = window.scriptWords
  var LEVEL_WORDS = { high: w('level_high'), medium: w('level_medium'), low: w('level_low') }
  var suggestion = null
  var lastNeeds = null

  function csrfToken () {
    var meta = document.querySelector('meta[name="csrf-token"]')
    return meta ? meta.getAttribute('content') : ''
  }

  function suggestRiskLevel () {
    if (!suggestion) return
    var value = editor.getValue() || {}
    var needs = { red_needs: value.red_needs || [], yellow_needs: value.yellow_needs || [] }
    var key = JSON.stringify(needs)
    if (key === lastNeeds) return
    lastNeeds = key
    window.fetch('/api/decisions/risk_level/suggest', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      body: key
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body } })
    }).then(function (answer) {
      if (key !== lastNeeds) return /* the needs changed while we asked */
      suggestion.classList.toggle('problem', !answer.ok)
      if (!answer.ok) {
        var problem = (answer.body && answer.body.message) || w('no_suggestion_for_needs')
        suggestion.textContent = w('no_suggested_level', { reason: problem })
        return
      }
      var level = answer.body.risk_level
      suggestion.textContent = w(answer.body.needs_judgement ? 'suggested_level_judgement' : 'suggested_level',
        { level: LEVEL_WORDS[level] || level })
    }).catch(function () {
      suggestion.textContent = w('suggestion_unavailable')
    })
  }

  function addSuggestion () {
    var properties = schema.properties || {}
    if (!properties.red_needs || !properties.yellow_needs) return
    var after = fieldContainer('yellow_needs')
    if (!after) return
    suggestion = document.createElement('p')
    suggestion.id = 'risk-suggestion'
    suggestion.className = 'suggestion'
    suggestion.setAttribute('role', 'status')
    suggestion.setAttribute('aria-live', 'polite')
    after.insertAdjacentElement('afterend', suggestion)
    suggestRiskLevel()
  }

  /* -- answers ------------------------------------------------------------------------------ */
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
      if (field.getAttribute('data-tidied')) return
      field.setAttribute('data-tidied', 'true')
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

  function givenBefore (path) {
    /* Whether the answers the form starts from hold a value at this editor path
       ("root.referrals.0.consent_to_share"). */
    var value = startval
    var parts = path.split('.').slice(1)
    for (var i = 0; i < parts.length; i++) {
      if (value === null || typeof value !== 'object' || !(parts[i] in value)) return false
      value = value[parts[i]]
    }
    return value !== undefined
  }

  function askInsteadOfDefaulting () {
    /* json-editor preselects the first choice (or "No") of a required question, also in a
       row added to a list; a question with a "choose" option starts unanswered unless it
       was answered before. Each question once: what the person then chooses stays. */
    Object.keys(editor.editors || {}).forEach(function (path) {
      var field = editor.editors[path]
      if (!field || field.askedOnce || path === 'root') return
      field.askedOnce = true /* a row removed and added again is a new editor: asked again */
      var options = (field.schema && field.schema.options) || {}
      if (options.has_placeholder_option && !givenBefore(path)) field.setValue(undefined, true)
    })
  }

  function restoreAnswers () {
    /* Put back what was submitted before (a refusal comes back with it), or what the task
       starts from (a plan sent back), field by field: handing json-editor a partial start
       value would drop the unanswered questions. */
    Object.keys(startval || {}).forEach(function (key) {
      var field = editor.getEditor('root.' + key)
      if (field) field.setValue(startval[key])
    })
  }

  editor.on('ready', function () {
    restoreAnswers()
    askInsteadOfDefaulting()
    tidy()
    addCounters()
    addSuggestion()
    showServerErrors()
    editor.on('change', function () {
      askInsteadOfDefaulting() /* rows added to a list get the same treatment */
      tidy()
      addCounters()
      suggestRiskLevel()
    })
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
