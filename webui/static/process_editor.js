/* The process owners' editor page (/models/edit/<file>): one file of the deployed set edited
 * as the owner's draft.
 *
 *   .bpmn  bpmn-js Modeler + properties panel (build/editors/bpmn-modeler.js, our bundle)
 *   .dmn   dmn-js Modeler, opened on its decision table
 *   .json  the form's JSON Schema, previewed live in the task page's renderer (json-editor)
 *
 * (the editors themselves: webui/static/process_editor_views.js; this file saves, checks,
 * runs path tests and deploys)
 *
 * Every change is saved as a draft (PUT /api/process-models/drafts/<file>) and then checked
 * with the owner's other drafts through POST /api/process-models/validate — the checks of a
 * deploy — the problems listed and, in the modeler, marked on their elements. Path tests run
 * on the drafts (POST /api/process-models/scenarios); nothing is deployed until the owner
 * asks (POST /api/process-models/drafts/deploy). Page data comes in #editor-config (JSON),
 * the words it writes in the page's language (_script_words.html: editor(); page.js: scriptWords).
 */
(function () {
  'use strict'
  var w = window.scriptWords
  var configNode = document.getElementById('editor-config')
  if (!configNode) return
  var config = JSON.parse(configNode.textContent)
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content
  var statusNode = document.getElementById('draft-status')
  var SAVE_AFTER_MS = 600
  var editor = null // { content(): Promise<string>, mark(problems) }
  var saved = { content: config.content, scenario: config.scenario ? config.scenario.content : null }
  var saveTimer = null
  var queue = Promise.resolve()
  var refusedContent = null // the draft a deploy refused, while its refusal is shown

  function say (node, text, cls) {
    node.textContent = text
    node.className = (node.className.replace(/\b(is-ok|is-bad|is-busy)\b/g, '').trim() + ' ' + (cls || '')).trim()
  }

  function clock () {
    /* in the page's language, with the digits the server writes (Latin, as Babel does) */
    var lang = document.documentElement.lang
    return new Date().toLocaleTimeString(lang ? lang + '-u-nu-latn' : [], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
  }

  function api (method, url, body) {
    var headers = { Accept: 'application/json', 'X-CSRFToken': csrf }
    var options = { method: method, headers: headers, credentials: 'same-origin' }
    if (body instanceof FormData) options.body = body
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      options.body = JSON.stringify(body)
    }
    return fetch(url, options).then(function (resp) {
      return resp.text().then(function (text) {
        var parsed = null
        try { parsed = text ? JSON.parse(text) : null } catch (e) { parsed = { message: text.slice(0, 200) } }
        return { ok: resp.ok, status: resp.status, body: parsed || {} }
      })
    })
  }

  function draftUrl (filename) {
    return config.urls.drafts + '/' + filename.split('/').map(encodeURIComponent).join('/')
  }

  function el (tag, cls, text) {
    var node = document.createElement(tag)
    if (cls) node.className = cls
    if (text !== undefined) node.textContent = text
    return node
  }

  /* -- saving and checking --------------------------------------------------------------- */
  function changed () {
    say(statusNode, w('changed_saving'), 'is-busy')
    clearTimeout(saveTimer)
    saveTimer = setTimeout(save, SAVE_AFTER_MS)
  }

  /* Save the file (if it changed) and check it; queued so saves never overtake each other. */
  function save () {
    clearTimeout(saveTimer)
    queue = queue.then(function () { return editor ? editor.content() : saved.content }).then(function (content) {
      if (content === saved.content) return null
      var body = { content: content }
      if (config.base_hash) body.base_hash = config.base_hash // the deployed file this draft starts from
      return api('PUT', draftUrl(config.filename), body).then(function (resp) {
        if (!resp.ok) {
          say(statusNode, w('not_saved', { reason: resp.body.message || w('error_status', { status: resp.status }) }), 'is-bad')
          return null
        }
        saved.content = content
        say(statusNode, w('draft_saved', { time: clock() }), 'is-ok')
        return check(content)
      })
    }).catch(function (err) { say(statusNode, w('not_saved', { reason: err.message }), 'is-bad') })
    return queue
  }

  function modelFiles (current) {
    var files = {}
    Object.keys(config.other_drafts || {}).forEach(function (name) {
      if (name.indexOf('tests/') !== 0) files[name] = config.other_drafts[name]
    })
    files[config.filename] = current
    return files
  }

  function multipart (files, scenarios) {
    var data = new FormData()
    Object.keys(files).forEach(function (name) { data.append('files', new Blob([files[name]]), name) })
    Object.keys(scenarios || {}).forEach(function (name) { data.append('scenarios', new Blob([scenarios[name]]), name) })
    return data
  }

  function check (content) {
    var summary = document.getElementById('checks-summary')
    say(summary, w('checking'), 'is-busy')
    return api('POST', config.urls.validate, multipart(modelFiles(content))).then(function (resp) {
      if (!resp.ok) {
        showProblems([{ file: config.filename, message: resp.body.message || w('check_failed', { status: resp.status }) }])
        return
      }
      var problems = resp.body.problems || []
      showProblems(problems)
      if (!problems.length && refusedContent !== null && content !== refusedContent) {
        /* the draft changed since a deploy was refused, and now passes: that refusal is stale */
        var out = document.getElementById('deploy-result')
        out.textContent = ''
        out.className = out.className.replace(/\b(is-ok|is-bad|is-busy)\b/g, '').trim()
        refusedContent = null
      }
    })
  }

  function showProblems (problems) {
    var list = document.getElementById('problem-list')
    var summary = document.getElementById('checks-summary')
    list.textContent = ''
    problems.forEach(function (p) {
      var item = el('li', 'problem')
      if (p.file) item.appendChild(el('span', 'problem-file', p.file + ': '))
      if (p.element_id) {
        var code = el('button', 'link-button element-id', p.element_id)
        code.type = 'button'
        code.setAttribute('data-element', p.element_id)
        code.setAttribute('aria-label', w('show_element', { element: p.element_id }))
        item.appendChild(code)
        item.appendChild(document.createTextNode(' '))
      }
      if (p.line) item.appendChild(el('span', 'muted', w('at_line', { line: p.line }) + ' '))
      item.appendChild(el('span', 'problem-message', p.message))
      list.appendChild(item)
    })
    if (problems.length) {
      say(summary, problems.length === 1 ? w('one_problem') : w('problems', { count: problems.length }), 'is-bad')
    } else say(summary, w('no_problems'), 'is-ok')
    if (editor) {
      editor.mark(problems.filter(function (p) { return p.element_id && (!p.file || p.file === config.filename) })
        .map(function (p) { return p.element_id }))
    }
  }

  document.getElementById('problem-list').addEventListener('click', function (event) {
    var button = event.target.closest('button[data-element]')
    if (button && editor && editor.show) editor.show(button.getAttribute('data-element'))
  })

  /* -- path tests --------------------------------------------------------------------------- */
  function scenarioText () {
    var node = document.getElementById('scenario-source')
    return node ? node.value : null
  }

  function saveScenario () {
    var text = scenarioText()
    if (text === null || text === saved.scenario) return Promise.resolve()
    return api('PUT', draftUrl(config.scenario.filename), { content: text }).then(function (resp) {
      if (resp.ok) saved.scenario = text
    })
  }

  function runPathTests () {
    var out = document.getElementById('path-test-results')
    say(out, w('running_path_tests'), 'is-busy')
    save().then(saveScenario).then(function () { return editor ? editor.content() : saved.content }).then(function (content) {
      var scenarios = {}
      if (scenarioText() !== null) scenarios[config.process_id + '.json'] = scenarioText()
      return api('POST', config.urls.scenarios, multipart(modelFiles(content), scenarios))
    }).then(function (resp) {
      out.textContent = ''
      if (!resp.ok) return say(out, w('path_tests_not_run', { reason: resp.body.message || resp.status }), 'is-bad')
      var results = resp.body.results || []
      var passed = results.filter(function (r) { return r.passed }).length
      var said = (resp.body.passed ? 'path_tests_all_passed' : 'path_tests_passed') + (results.length === 1 ? '_one' : '')
      out.appendChild(el('p', resp.body.passed ? 'is-ok' : 'is-bad', w(said, { passed: passed, total: results.length })))
      var table = el('table', 'path-test-table')
      var head = table.createTHead().insertRow()
      ;['column_path_test', 'column_result', 'column_why'].forEach(function (t) { var th = el('th', '', w(t)); th.scope = 'col'; head.appendChild(th) })
      var body = table.createTBody()
      results.forEach(function (r) {
        var row = body.insertRow()
        row.className = r.passed ? 'passed' : 'failed'
        row.insertCell().textContent = r.name
        row.insertCell().textContent = r.passed ? w('passed') : (r.failed_step ? w('failed_at_step', { step: r.failed_step }) : w('failed'))
        row.insertCell().textContent = r.why || ''
      })
      out.appendChild(table)
    }).catch(function (err) { say(out, w('path_tests_not_run', { reason: err.message }), 'is-bad') })
  }

  /* -- deploying and discarding --------------------------------------------------------------- */
  function deploy (overwrite) {
    var out = document.getElementById('deploy-result')
    say(out, w('deploying'), 'is-busy')
    save().then(function () { return api('POST', config.urls.deploy, overwrite ? { overwrite: true } : {}) }).then(function (resp) {
      out.textContent = ''
      refusedContent = null
      if (resp.status === 409) {
        /* a drafted file was deployed again since: say so, and deploy over it only on purpose */
        out.appendChild(el('p', 'is-bad', w('nothing_deployed', { reason: resp.body.message || w('newer_version_exists') })))
        var again = el('button', 'secondary', w('deploy_over'))
        again.type = 'button'
        again.addEventListener('click', function () {
          if (window.confirm(w('confirm_deploy_over'))) deploy(true)
        })
        out.appendChild(again)
        return null
      }
      if (!resp.ok) {
        /* a refused model names its file, element and line */
        var where = [resp.body.file, resp.body.element_id, resp.body.line ? w('line', { line: resp.body.line }) : null]
          .filter(Boolean).join(', ')
        say(out, w('nothing_deployed', { reason: (where ? where + ': ' : '') + (resp.body.message || w('error_status', { status: resp.status })) }), 'is-bad')
        return editor ? editor.content().then(function (content) { refusedContent = content; return check(content) }) : null
      }
      var created = (resp.body.deployed || []).filter(function (r) { return r.created })
      /* the deployed versions are links, put where the sentence says {versions} */
      var sentence = created.length ? w('deployed').split('{versions}') : [w('nothing_changed')]
      var line = el('p', 'is-ok', sentence[0])
      created.forEach(function (r, i) {
        var link = el('a', '', w(r.runnable ? 'process_version' : 'view_only_version', { process: r.process_id, version: r.version }))
        link.href = config.urls.models + '/' + r.model_id
        if (i) line.appendChild(document.createTextNode(', '))
        line.appendChild(link)
      })
      if (sentence.length > 1) line.appendChild(document.createTextNode(sentence.slice(1).join('')))
      out.appendChild(line)
      config.other_drafts = {}
      config.base_hash = null // a further change starts from what was just deployed
      say(statusNode, w('deployed_at', { time: clock() }), 'is-ok')
    }).catch(function (err) { say(out, w('nothing_deployed', { reason: err.message }), 'is-bad') })
  }

  function discard () {
    if (!window.confirm(w('confirm_discard', { filename: config.filename }))) return
    clearTimeout(saveTimer)
    api('DELETE', draftUrl(config.filename)).then(function (resp) {
      if (resp.ok || resp.status === 404) window.location.reload()
      else say(statusNode, w('not_discarded', { reason: resp.body.message || resp.status }), 'is-bad')
    })
  }

  document.getElementById('run-path-tests').addEventListener('click', runPathTests)
  document.getElementById('deploy-drafts').addEventListener('click', function () { deploy(false) })
  document.getElementById('discard-draft').addEventListener('click', discard)
  var scenarioNode = document.getElementById('scenario-source')
  if (scenarioNode) scenarioNode.addEventListener('change', saveScenario)

  /* -- the editor of this kind of file (webui/static/process_editor_views.js) -------------------- */
  editor = window.CaseworkEditorViews
    ? window.CaseworkEditorViews.open({ config: config, changed: changed, check: check, api: api, el: el, words: w })
    : null
})()
