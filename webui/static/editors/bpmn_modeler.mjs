/* The BPMN modeler of the process owners' editor page: bpmn-js's Modeler with its
 * properties panel and our "Casework" groups, and the spiffworkflow: extensions read and
 * written as typed elements.
 *
 * bpmn-js-properties-panel and @bpmn-io/properties-panel ship ES modules only, so this file
 * is bundled by esbuild (`npm run build:editors`, run by `make install`) into
 * build/editors/bpmn-modeler.js, which webui/pages/assets.py serves; nothing built is
 * committed. The page's own script (webui/static/process_editor.js) calls
 * window.CaseworkBpmnModeler.create(...).
 *
 * SpiffWorkflow reads loopDataInputRef / loopDataOutputRef as names of data variables;
 * standard BPMN makes them references to data inputs, which bpmn-moddle drops on export
 * when nothing has that id. The descriptor's DataNamedLoop keeps them as text.
 */
import BpmnModeler from 'bpmn-js/lib/Modeler'
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel'

import CaseworkPropertiesModule from './casework_properties.mjs'
import spiffworkflow from './spiffworkflow_moddle.json'

function create (options) {
  return new BpmnModeler({
    container: options.container,
    propertiesPanel: { parent: options.propertiesParent },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CaseworkPropertiesModule],
    moddleExtensions: { spiffworkflow },
    casework: options.vocabulary || {}
  })
}

window.CaseworkBpmnModeler = { create }
