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
 * asks (POST /api/process-models/drafts/deploy). Page data comes in #editor-config (JSON).
 */
(function () {
  'use strict'
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
    return new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
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
    say(statusNode, 'Changed — saving your draft…', 'is-busy')
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
          say(statusNode, 'Not saved: ' + (resp.body.message || 'error ' + resp.status), 'is-bad')
          return null
        }
        saved.content = content
        say(statusNode, 'Draft saved at ' + clock() + '.', 'is-ok')
        return check(content)
      })
    }).catch(function (err) { say(statusNode, 'Not saved: ' + err.message, 'is-bad') })
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
    say(summary, 'Checking…', 'is-busy')
    return api('POST', config.urls.validate, multipart(modelFiles(content))).then(function (resp) {
      if (!resp.ok) {
        showProblems([{ file: config.filename, message: resp.body.message || 'the check failed (' + resp.status + ')' }])
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
        code.setAttribute('aria-label', 'Show ' + p.element_id + ' in the editor')
        item.appendChild(code)
        item.appendChild(document.createTextNode(' '))
      }
      if (p.line) item.appendChild(el('span', 'muted', '(line ' + p.line + ') '))
      item.appendChild(el('span', 'problem-message', p.message))
      list.appendChild(item)
    })
    if (problems.length) {
      say(summary, problems.length + ' problem' + (problems.length === 1 ? '' : 's') +
        ' — the same a deploy would refuse or make view-only:', 'is-bad')
    } else say(summary, 'No problems: this draft would deploy.', 'is-ok')
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
    say(out, 'Running the path tests on your draft…', 'is-busy')
    save().then(saveScenario).then(function () { return editor ? editor.content() : saved.content }).then(function (content) {
      var scenarios = {}
      if (scenarioText() !== null) scenarios[config.process_id + '.json'] = scenarioText()
      return api('POST', config.urls.scenarios, multipart(modelFiles(content), scenarios))
    }).then(function (resp) {
      out.textContent = ''
      if (!resp.ok) return say(out, 'The path tests could not run: ' + (resp.body.message || resp.status), 'is-bad')
      var results = resp.body.results || []
      var passed = results.filter(function (r) { return r.passed }).length
      out.appendChild(el('p', resp.body.passed ? 'is-ok' : 'is-bad', (resp.body.passed ? 'All ' : '') + passed + ' of ' +
        results.length + ' path test' + (results.length === 1 ? '' : 's') + ' passed.'))
      var table = el('table', 'path-test-table')
      var head = table.createTHead().insertRow()
      ;['Path test', 'Result', 'Why'].forEach(function (t) { var th = el('th', '', t); th.scope = 'col'; head.appendChild(th) })
      var body = table.createTBody()
      results.forEach(function (r) {
        var row = body.insertRow()
        row.className = r.passed ? 'passed' : 'failed'
        row.insertCell().textContent = r.name
        row.insertCell().textContent = r.passed ? 'passed' : (r.failed_step ? 'failed at step ' + r.failed_step : 'failed')
        row.insertCell().textContent = r.why || ''
      })
      out.appendChild(table)
    }).catch(function (err) { say(out, 'The path tests could not run: ' + err.message, 'is-bad') })
  }

  /* -- deploying and discarding --------------------------------------------------------------- */
  function deploy (overwrite) {
    var out = document.getElementById('deploy-result')
    say(out, 'Deploying your drafts…', 'is-busy')
    save().then(function () { return api('POST', config.urls.deploy, overwrite ? { overwrite: true } : {}) }).then(function (resp) {
      out.textContent = ''
      refusedContent = null
      if (resp.status === 409) {
        /* a drafted file was deployed again since: say so, and deploy over it only on purpose */
        out.appendChild(el('p', 'is-bad', 'Nothing was deployed: ' + (resp.body.message || 'a newer version exists')))
        var again = el('button', 'secondary', 'Deploy over the newer version')
        again.type = 'button'
        again.addEventListener('click', function () {
          if (window.confirm('Deploy your drafts over the version deployed since? Its changes are replaced by yours.')) deploy(true)
        })
        out.appendChild(again)
        return null
      }
      if (!resp.ok) {
        /* a refused model names its file, element and line */
        var where = [resp.body.file, resp.body.element_id, resp.body.line ? 'line ' + resp.body.line : null]
          .filter(Boolean).join(', ')
        say(out, 'Nothing was deployed: ' + (where ? where + ': ' : '') + (resp.body.message || 'error ' + resp.status), 'is-bad')
        return editor ? editor.content().then(function (content) { refusedContent = content; return check(content) }) : null
      }
      var created = (resp.body.deployed || []).filter(function (r) { return r.created })
      var line = el('p', 'is-ok', created.length ? 'Deployed: ' : 'Nothing changed: every process is deployed as it is.')
      created.forEach(function (r, i) {
        var link = el('a', '', r.process_id + ' version ' + r.version + (r.runnable ? '' : ' (view-only)'))
        link.href = config.urls.models + '/' + r.model_id
        if (i) line.appendChild(document.createTextNode(', '))
        line.appendChild(link)
      })
      if (created.length) line.appendChild(document.createTextNode('. New instances start on it; your drafts of these files are done.'))
      out.appendChild(line)
      config.other_drafts = {}
      config.base_hash = null // a further change starts from what was just deployed
      say(statusNode, 'Deployed at ' + clock() + '. Further changes start a new draft.', 'is-ok')
    }).catch(function (err) { say(out, 'Nothing was deployed: ' + err.message, 'is-bad') })
  }

  function discard () {
    if (!window.confirm('Throw away your draft of ' + config.filename + '? The deployed file stays as it is.')) return
    clearTimeout(saveTimer)
    api('DELETE', draftUrl(config.filename)).then(function (resp) {
      if (resp.ok || resp.status === 404) window.location.reload()
      else say(statusNode, 'Not discarded: ' + (resp.body.message || resp.status), 'is-bad')
    })
  }

  document.getElementById('run-path-tests').addEventListener('click', runPathTests)
  document.getElementById('deploy-drafts').addEventListener('click', function () { deploy(false) })
  document.getElementById('discard-draft').addEventListener('click', discard)
  var scenarioNode = document.getElementById('scenario-source')
  if (scenarioNode) scenarioNode.addEventListener('change', saveScenario)

  /* -- the editor of this kind of file (webui/static/process_editor_views.js) -------------------- */
  editor = window.CaseworkEditorViews
    ? window.CaseworkEditorViews.open({ config: config, changed: changed, check: check, api: api, el: el })
    : null
})()
