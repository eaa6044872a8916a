// The JSON Schemas of schemas/, all loaded into one ajv (strict), so a schema that refers to another
// (the SessionView every session-bearing document shares) validates the same in every test.
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {Ajv2020, type ValidateFunction} from 'ajv/dist/2020.js'

import {ROOT} from './cli.js'

let ajv: Ajv2020 | undefined

/** The validator of schemas/<name>.schema.json (its `$id` is urn:onramp:schema:<name>). */
export function schemaValidator(name: string): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv2020({allErrors: true, strict: true, allowUnionTypes: true})
    const folder = path.join(ROOT, 'schemas')
    for (const file of readdirSync(folder).filter((entry) => entry.endsWith('.schema.json'))) {
      ajv.addSchema(JSON.parse(readFileSync(path.join(folder, file), 'utf8')) as object)
    }
  }
  const validate = ajv.getSchema(`urn:onramp:schema:${name}`)
  if (!validate) throw new Error(`no schema ${name} in schemas/`)
  return validate
}
