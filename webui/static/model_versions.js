/* The version and instance pages' controls for process owners (model_version.html,
 * model_instance.html): move instances to another version — a dry run first — through
 * POST /api/process-models/<id>/migrations, and choose the version new instances start on
 * through PUT /api/process-models/<id>/start-version. The answers are shown in place, in the
 * page's words (_script_words.html: versions(); webui/static/page.js: scriptWords). */
(function () {
  'use strict'
  var w = window.scriptWords
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content

  function send (method, url, body) {
    return fetch(url, {
      method: method, credentials: 'same-origin', body: JSON.stringify(body),
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRFToken': csrf }
    }).then(function (resp) {
      return resp.json().catch(function () { return {} }).then(function (data) { return { ok: resp.ok, status: resp.status, body: data } })
    })
  }

  function el (tag, cls, text) {
    var node = document.createElement(tag)
    if (cls) node.className = cls
    if (text !== undefined && text !== null) node.textContent = text
    return node
  }

  function failure (resp) {
    var body = resp.body || {}
    var details = Object.keys(body.errors || {}).map(function (k) { return body.errors[k].join('; ') }).join(' ')
    return (body.message || w('request_failed', { status: resp.status })) + (details ? ' — ' + details : '')
  }

  function showMigration (out, result) {
    out.textContent = ''
    var moved = result.migrated.length
    var refused = result.refused.length
    var summary = w(result.dry_run ? 'dry_run_summary' : 'moved_summary',
      { moved: moved, version: result.to_version, refused: refused })
    out.appendChild(el('p', refused ? 'is-bad' : 'is-ok', summary))
    if (result.unlisted) {
      out.appendChild(el('p', 'muted', w('unlisted', { total: result.total, listed: result.instances.length,
        unlisted: result.unlisted })))
    }
    var table = el('table', 'migration-result')
    var head = table.createTHead().insertRow()
    ;['column_instance', 'column_case', 'column_verdict', 'column_what_happens', 'column_waiting'].forEach(function (t) {
      var th = el('th', '', w(t)); th.scope = 'col'; head.appendChild(th)
    })
    var body = table.createTBody()
    var verdicts = result.instances.slice()
    if (!result.unlisted) result.refused.forEach(function (r) {
      if (!verdicts.some(function (v) { return v.instance_id === r.instance_id })) {
        verdicts.push({ instance_id: r.instance_id, movable: false, reason: r.reason, will: w('will_nothing'), waiting: [] })
      }
    })
    verdicts.forEach(function (v) {
      var row = body.insertRow()
      row.className = v.movable ? 'movable' : 'refused'
      row.setAttribute('data-instance', v.instance_id)
      row.insertCell().textContent = w('instance', { id: v.instance_id })
      row.insertCell().textContent = v.case_code || '—'
      row.insertCell().textContent = v.movable ? w(result.dry_run ? 'can_move' : 'moved') : w('refused', { reason: v.reason })
      row.insertCell().textContent = v.will + ((v.notes || []).length ? ' (' + v.notes.join('; ') + ')' : '')
      var cell = row.insertCell()
      var list = el('ul', 'waiting-list')
      ;(v.waiting || []).forEach(function (waiting) {
        var what = w(waiting.kind === 'timer' ? 'waiting_timer' : 'waiting_task', { element: waiting.element_id })
        list.appendChild(el('li', waiting.in_target ? '' : 'is-bad',
          w(waiting.in_target ? 'in_target' : 'not_in_target', { waiting: what }) + (waiting.note ? ' — ' + waiting.note : '')))
      })
      cell.appendChild(list)
    })
    out.appendChild(table)
  }

  var migration = document.getElementById('migration-form')
  if (migration) {
    migration.addEventListener('submit', function (event) {
      event.preventDefault()
      var button = event.submitter
      var dryRun = !button || button.value !== 'false'
      if (!dryRun && !window.confirm(w('confirm_move'))) return
      var ids = Array.prototype.map.call(migration.querySelectorAll('[name=instance_ids]'), function (input) {
        return input.type === 'checkbox' && !input.checked ? null : parseInt(input.value, 10)
      }).filter(function (id) { return id !== null })
      var body = { to_version: parseInt(migration.querySelector('[name=to_version]').value, 10), dry_run: dryRun }
      if (ids.length) body.instance_ids = ids
      else if (migration.getAttribute('data-from-version')) body.from_version = parseInt(migration.getAttribute('data-from-version'), 10)
      var out = document.getElementById('migration-result')
      out.textContent = w(dryRun ? 'trying_dry_run' : 'moving')
      send('POST', migration.getAttribute('data-api'), body).then(function (resp) {
        if (!resp.ok) { out.textContent = ''; out.appendChild(el('p', 'is-bad', w('nothing_moved', { reason: failure(resp) }))); return }
        showMigration(out, resp.body)
      }).catch(function (err) { out.textContent = w('nothing_moved', { reason: err.message }) })
    })
  }

  var start = document.getElementById('start-version-form')
  if (start) {
    start.addEventListener('submit', function (event) {
      event.preventDefault()
      var out = document.getElementById('start-version-result')
      var version = parseInt(start.querySelector('[name=version]').value, 10)
      send('PUT', start.getAttribute('data-api'), { version: version }).then(function (resp) {
        out.className = resp.ok ? 'is-ok' : 'is-bad'
        out.textContent = resp.ok ? w('start_version_set', { version: resp.body.version }) : w('not_changed', { reason: failure(resp) })
      }).catch(function (err) { out.textContent = w('not_changed', { reason: err.message }) })
    })
  }
})()
