// The JSON Schemas of schemas/, all loaded into one ajv (strict), so a schema that refers to another
// (the SessionView every session-bearing document shares) validates the same in every test; tests
// validate real `--json` output here, nowhere else.
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {Ajv2020, type ValidateFunction} from 'ajv/dist/2020.js'
import {expect} from 'vitest'

import {ROOT, type CliResult} from './cli.js'

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

/** Fails the test unless `value` matches schemas/<name>.schema.json, naming every error; returns `value`. */
export function expectSchema<T = Record<string, unknown>>(name: string, value: unknown, context = ''): T {
  const validate = schemaValidator(name)
  expect(validate(value), `${name}.schema.json: ${ajv!.errorsText(validate.errors)}\n${context || JSON.stringify(value)}`).toBe(true)
  return value as T
}

/** Parses stdout (the whole of it: one JSON document) and validates it against schemas/<name>.schema.json. */
export function documentOf<T = Record<string, unknown>>(result: CliResult, name: string): T {
  let document: unknown
  try {
    document = JSON.parse(result.stdout)
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`)
  }
  return expectSchema<T>(name, document, `${result.stdout}\n${result.stderr}`)
}
