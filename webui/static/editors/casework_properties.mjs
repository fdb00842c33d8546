/* The properties panel's "Casework" groups: the SpiffWorkflow extension properties our
 * engine reads (README, "Adding or changing a workflow").
 *
 *   user task           form, due, priority, assign_to, title   (spiffworkflow:properties)
 *   process/participant start_roles (who may start it)         (spiffworkflow:properties)
 *   lane                its role (the lane's name)
 *   service task        the operation and its parameters        (spiffworkflow:serviceTaskOperator)
 *   business rule task  the decision it calls                   (spiffworkflow:calledDecisionId)
 *
 * Every change is one command on the modeler's command stack (undo/redo take it back whole).
 * The choices (forms, decisions, operations, roles) come from the page: config.casework.
 */
import { CheckboxEntry, ListGroup, SelectEntry, TextFieldEntry, isCheckboxEntryEdited, isSelectEntryEdited,
  isTextFieldEntryEdited } from '@bpmn-io/properties-panel'
import { useService } from 'bpmn-js-properties-panel'
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil'

const MULTI = 'properties-panel.multi-command-executor'
const PRIORITIES = [['', '(none)'], ['risk', 'from the case\'s risk level'], ['high', 'high'], ['medium', 'medium'],
  ['low', 'low']]

/* -- reading and writing extension elements ------------------------------------------- */
function extensionOf (bo, type) {
  const values = (bo && bo.extensionElements && bo.extensionElements.get('values')) || []
  return values.find(function (value) { return is(value, type) })
}

export function propertyValue (bo, name) {
  const holder = extensionOf(bo, 'spiffworkflow:Properties')
  const found = holder && holder.get('properties').find(function (p) { return p.name === name })
  return found ? (found.value || '') : ''
}

/* Commands that make sure ``bo`` has an extension element of ``type`` (created with
 * ``attrs``); returns [commands, the extension element]. */
function ensureExtension (element, bo, type, attrs, bpmnFactory) {
  const commands = []
  let extensions = bo.extensionElements
  if (!extensions) {
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] })
    extensions.$parent = bo
    commands.push(update(element, bo, { extensionElements: extensions }))
  }
  let found = extensionOf(bo, type)
  if (!found) {
    found = bpmnFactory.create(type, attrs)
    found.$parent = extensions
    commands.push(update(element, extensions, { values: extensions.get('values').concat([found]) }))
  }
  return [commands, found]
}

function update (element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } }
}

function setPropertyValue (element, bo, name, value, bpmnFactory, commandStack) {
  const text = (value || '').trim()
  const existing = extensionOf(bo, 'spiffworkflow:Properties')
  if (!text && !existing) return
  const [commands, holder] = ensureExtension(element, bo, 'spiffworkflow:Properties', { properties: [] }, bpmnFactory)
  const list = holder.get('properties')
  const found = list.find(function (p) { return p.name === name })
  if (!text) {
    if (!found) return
    commands.push(update(element, holder, { properties: list.filter(function (p) { return p !== found }) }))
  } else if (found) {
    commands.push(update(element, found, { value: text }))
  } else {
    const property = bpmnFactory.create('spiffworkflow:Property', { name, value: text })
    property.$parent = holder
    commands.push(update(element, holder, { properties: list.concat([property]) }))
  }
  commandStack.execute(MULTI, commands)
}

/* The process a diagram element's process-level properties belong to. */
function processOf (element) {
  const bo = getBusinessObject(element)
  if (is(bo, 'bpmn:Participant')) return bo.processRef || null
  return is(bo, 'bpmn:Process') ? bo : null
}

function withCurrent (choices, current) {
  const list = choices.slice()
  if (current && list.indexOf(current) === -1) list.unshift(current)
  return list
}

/* -- entries ---------------------------------------------------------------------------- */
function PropertyText (props) {
  const { element, id, name, label, description } = props
  const bpmnFactory = useService('bpmnFactory')
  const commandStack = useService('commandStack')
  const debounce = useService('debounceInput')
  const bo = getBusinessObject(element)
  return TextFieldEntry({
    element, id, label, description, debounce,
    getValue: function () { return propertyValue(bo, name) },
    setValue: function (value) { setPropertyValue(element, bo, name, value, bpmnFactory, commandStack) }
  })
}

function PropertySelect (props) {
  const { element, id, name, label, description, choices } = props
  const bpmnFactory = useService('bpmnFactory')
  const commandStack = useService('commandStack')
  const bo = getBusinessObject(element)
  return SelectEntry({
    element, id, label, description,
    getValue: function () { return propertyValue(bo, name) },
    setValue: function (value) { setPropertyValue(element, bo, name, value, bpmnFactory, commandStack) },
    getOptions: function () { return choices(propertyValue(bo, name)) }
  })
}

function StartRole (props) {
  const { element, id, role, label } = props
  const bpmnFactory = useService('bpmnFactory')
  const commandStack = useService('commandStack')
  const process = processOf(element)
  function roles () { return propertyValue(process, 'start_roles').split(/\s+/).filter(Boolean) }
  return CheckboxEntry({
    element, id, label,
    getValue: function () { return roles().indexOf(role) !== -1 },
    setValue: function (checked) {
      const chosen = roles().filter(function (r) { return r !== role })
      if (checked) chosen.push(role)
      setPropertyValue(element, process, 'start_roles', chosen.join(' '), bpmnFactory, commandStack)
    }
  })
}

function LaneRole (props) {
  const { element, id, roles } = props
  const modeling = useService('modeling')
  return SelectEntry({
    element, id, label: 'Role (who works in this lane)',
    description: 'Tasks in this lane are offered to people with this role.',
    getValue: function () { return element.businessObject.name || '' },
    setValue: function (value) { modeling.updateProperties(element, { name: value }) },
    getOptions: function () {
      const current = element.businessObject.name || ''
      const options = withCurrent(roles.map(function (r) { return r.value }), current)
        .map(function (value) {
          const known = roles.find(function (r) { return r.value === value })
          return { value, label: known ? known.label + ' (' + value + ')' : value + ' — not a role' }
        })
      return current ? options : [{ value: '', label: '(choose a role)' }].concat(options)
    }
  })
}

function OperatorField (props) {
  const { element, id, field, label, description, choices } = props
  const bpmnFactory = useService('bpmnFactory')
  const commandStack = useService('commandStack')
  const debounce = useService('debounceInput')
  const bo = getBusinessObject(element)
  function current () {
    const operator = extensionOf(bo, 'spiffworkflow:ServiceTaskOperator')
    return (operator && operator.get(field)) || ''
  }
  function setValue (value) {
    const [commands, operator] = ensureExtension(element, bo, 'spiffworkflow:ServiceTaskOperator', {}, bpmnFactory)
    commands.push(update(element, operator, { [field]: (value || '').trim() || undefined }))
    commandStack.execute(MULTI, commands)
  }
  if (choices) {
    return SelectEntry({
      element, id, label, description, getValue: current, setValue,
      getOptions: function () {
        return [{ value: '', label: '(choose an operation)' }].concat(withCurrent(choices, current())
          .map(function (name) { return { value: name, label: name } }))
      }
    })
  }
  return TextFieldEntry({ element, id, label, description, debounce, getValue: current, setValue })
}

function ParameterField (props) {
  const { element, id, parameter, field, label, description } = props
  const commandStack = useService('commandStack')
  const debounce = useService('debounceInput')
  return TextFieldEntry({
    element: parameter, id, label, description, debounce,
    getValue: function () { return parameter.get(field) || '' },
    setValue: function (value) { commandStack.execute('element.updateModdleProperties', update(element, parameter, { [field]: value }).context) }
  })
}

function CalledDecision (props) {
  const { element, id, decisions } = props
  const bpmnFactory = useService('bpmnFactory')
  const commandStack = useService('commandStack')
  const bo = getBusinessObject(element)
  function current () {
    const called = extensionOf(bo, 'spiffworkflow:CalledDecisionId')
    return (called && called.value) || ''
  }
  return SelectEntry({
    element, id, label: 'Decision table it calls',
    description: 'Its outputs are added to the task data.',
    getValue: current,
    setValue: function (value) {
      const [commands, called] = ensureExtension(element, bo, 'spiffworkflow:CalledDecisionId', {}, bpmnFactory)
      commands.push(update(element, called, { value }))
      commandStack.execute(MULTI, commands)
    },
    getOptions: function () {
      return [{ value: '', label: '(choose a decision)' }].concat(withCurrent(decisions, current())
        .map(function (name) { return { value: name, label: name } }))
    }
  })
}

/* -- groups ------------------------------------------------------------------------------- */
function options (values, none) {
  return function (current) {
    return [{ value: '', label: none }].concat(withCurrent(values, current)
      .map(function (v) { return { value: v, label: v } }))
  }
}

function userTaskGroup (element, vocabulary) {
  const entry = function (name, label, description, extra) {
    return Object.assign({ id: 'casework-' + name, name, label, description, component: PropertyText,
      isEdited: isTextFieldEntryEdited }, extra || {})
  }
  return {
    id: 'casework-task', label: 'Casework task', shouldOpen: true,
    entries: [
      entry('title', 'Title', 'What the person sees in their inbox.'),
      entry('form', 'Form', 'The JSON-Schema form the person fills in.',
        { component: PropertySelect, isEdited: isSelectEntryEdited, choices: options(vocabulary.forms, '(none)') }),
      entry('due', 'Due', 'An ISO 8601 duration (PT24H, P3D) or an expression over the task data, ' +
        'e.g. intervene_within_hours.'),
      entry('priority', 'Priority', null, {
        component: PropertySelect, isEdited: isSelectEntryEdited,
        choices: function () { return PRIORITIES.map(function (p) { return { value: p[0], label: p[1] } }) }
      }),
      entry('assign_to', 'Assign to', 'A data variable holding the username (empty: offered to the lane\'s role).')
    ]
  }
}

function startGroup (element, vocabulary) {
  return {
    id: 'casework-start', label: 'Who may start it', shouldOpen: true,
    entries: vocabulary.roles.map(function (role) {
      return { id: 'casework-start-' + role.value, role: role.value, label: role.label, component: StartRole,
        isEdited: isCheckboxEntryEdited }
    })
  }
}

function operatorGroups (element, vocabulary, injector) {
  const bo = getBusinessObject(element)
  const operator = extensionOf(bo, 'spiffworkflow:ServiceTaskOperator')
  const list = operator && operator.parameterList ? operator.parameterList.get('parameters') : []
  const field = function (name, label, description, choices) {
    return { id: 'casework-operator-' + name, field: name, label, description, choices, component: OperatorField,
      isEdited: choices ? isSelectEntryEdited : isTextFieldEntryEdited }
  }
  const commandStack = injector.get('commandStack')
  const bpmnFactory = injector.get('bpmnFactory')
  function addParameter (event) {
    event.stopPropagation()
    const [commands, found] = ensureExtension(element, bo, 'spiffworkflow:ServiceTaskOperator', {}, bpmnFactory)
    let holder = found.parameterList
    if (!holder) {
      holder = bpmnFactory.create('spiffworkflow:Parameters', { parameters: [] })
      holder.$parent = found
      commands.push(update(element, found, { parameterList: holder }))
    }
    const parameter = bpmnFactory.create('spiffworkflow:Parameter', { id: 'parameter_' + (list.length + 1), type: 'any', value: '' })
    parameter.$parent = holder
    commands.push(update(element, holder, { parameters: holder.get('parameters').concat([parameter]) }))
    commandStack.execute(MULTI, commands)
  }
  return [{
    id: 'casework-operator', label: 'Operation', shouldOpen: true,
    entries: [
      field('id', 'Operation', 'The engine operation this task runs.', vocabulary.operations),
      field('resultVariable', 'Result variable', 'The data variable that receives its result.')
    ]
  }, {
    id: 'casework-parameters', label: 'Operation parameters', component: ListGroup, shouldOpen: true,
    add: addParameter,
    items: list.map(function (parameter, index) {
      const prefix = 'casework-parameter-' + index
      return {
        id: prefix, label: parameter.id || '(unnamed)', autoFocusEntry: prefix + '-id',
        remove: function (event) {
          event.stopPropagation()
          const holder = operator.parameterList
          commandStack.execute('element.updateModdleProperties', update(element, holder,
            { parameters: holder.get('parameters').filter(function (p) { return p !== parameter }) }).context)
        },
        entries: [
          { id: prefix + '-id', parameter, field: 'id', label: 'Name', component: ParameterField,
            isEdited: isTextFieldEntryEdited },
          { id: prefix + '-value', parameter, field: 'value', label: 'Value', component: ParameterField,
            description: 'An expression over the task data.', isEdited: isTextFieldEntryEdited }
        ]
      }
    })
  }]
}

function CaseworkPropertiesProvider (propertiesPanel, injector, vocabulary) {
  this._injector = injector
  this._vocabulary = Object.assign({ forms: [], decisions: [], operations: [], roles: [] }, vocabulary || {})
  propertiesPanel.registerProvider(400, this)
}

CaseworkPropertiesProvider.$inject = ['propertiesPanel', 'injector', 'config.casework']

CaseworkPropertiesProvider.prototype.getGroups = function (element) {
  const vocabulary = this._vocabulary
  const injector = this._injector
  return function (groups) {
    const ours = []
    if (is(element, 'bpmn:UserTask')) ours.push(userTaskGroup(element, vocabulary))
    if (is(element, 'bpmn:ServiceTask')) ours.push.apply(ours, operatorGroups(element, vocabulary, injector))
    if (is(element, 'bpmn:BusinessRuleTask')) {
      ours.push({ id: 'casework-decision', label: 'Decision', shouldOpen: true,
        entries: [{ id: 'casework-decision', decisions: vocabulary.decisions, component: CalledDecision,
          isEdited: isSelectEntryEdited }] })
    }
    if (is(element, 'bpmn:Lane')) {
      ours.push({ id: 'casework-lane', label: 'Lane role', shouldOpen: true,
        entries: [{ id: 'casework-lane-role', roles: vocabulary.roles, component: LaneRole, isEdited: isSelectEntryEdited }] })
    }
    if (processOf(element)) ours.push(startGroup(element, vocabulary))
    const general = groups.findIndex(function (g) { return g.id === 'general' })
    groups.splice(general + 1, 0, ...ours)
    return groups
  }
}

export default {
  __init__: ['caseworkPropertiesProvider'],
  caseworkPropertiesProvider: ['type', CaseworkPropertiesProvider]
}
