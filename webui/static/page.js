/* Small behaviours every page shares. */
(function () {
  'use strict'
  /* Move keyboard focus to what needs attention first (refused uploads, form errors). */
  var first = document.querySelector('[data-autofocus]')
  if (first) first.focus()
  /* Ask before destructive or irreversible actions that carry data-confirm. */
  document.addEventListener('submit', function (event) {
    var message = event.target.getAttribute('data-confirm')
    if (message && !window.confirm(message)) event.preventDefault()
  })
  /* A long text's counter (data-max-length, data-counter): the limit said, never a silent cut. */
  var numbers = new Intl.NumberFormat('en-GB')
  /* the page's words for it, in the page's language (base.html: data-words-* on <body>) */
  var words = document.body.dataset
  function counted (used, limit) {
    var text = (words.wordsCharacters || '{count} of {max} characters')
      .replace('{count}', numbers.format(used)).replace('{max}', numbers.format(limit))
    if (used <= limit) return text
    return text + ': ' + (words.wordsTooMany || '{count} too many').replace('{count}', numbers.format(used - limit))
  }
  window.countedCharacters = counted
  /* The words of a page's scripts, in the page's language: the JSON blocks
     <script type="application/json" class="script-words"> that _script_words.html writes.
     scriptWords(key, {name: value}) fills each {name}; a key the page lacks shows as itself,
     which tests/webui/test_script_words.py keeps from happening. */
  var scriptTable = null
  window.scriptWords = function (key, values) {
    if (scriptTable === null) {
      scriptTable = {}
      document.querySelectorAll('script.script-words').forEach(function (block) {
        var table = JSON.parse(block.textContent)
        Object.keys(table).forEach(function (k) { scriptTable[k] = table[k] })
      })
    }
    var text = Object.prototype.hasOwnProperty.call(scriptTable, key) ? scriptTable[key] : key
    Object.keys(values || {}).forEach(function (name) {
      text = text.split('{' + name + '}').join(String(values[name]))
    })
    return text
  }
  document.querySelectorAll('[data-max-length][data-counter]').forEach(function (input) {
    var counter = document.getElementById(input.getAttribute('data-counter'))
    var limit = Number(input.getAttribute('data-max-length'))
    function update () {
      var used = Array.from(input.value || '').length /* code points, as the server counts */
      counter.textContent = counted(used, limit)
      counter.classList.toggle('over', used > limit)
    }
    if (!counter) return
    input.addEventListener('input', update)
    update()
  })
})()
