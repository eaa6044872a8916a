import type {ProjectCreateResult, ProjectRemoveResult, ProjectRotateResult, ProjectShowResult, ProjectView} from '../flows/projects.js'
import {serverText} from '../terminal-text.js'

/** The project's id, key and host: the part a person copies. */
function projectLines(project: ProjectView): string {
  const rows: [string, string][] = [
    // All three come from the server: stripped of control characters before they reach the terminal.
    ['id', serverText(project.id)],
    ['api key', serverText(project.api_key)],
    ['host', serverText(project.host)],
  ]
  if (project.personal_api_key !== null) rows.push(['personal api key', serverText(project.personal_api_key)])
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}\n`).join('')
}

/** The variables written, as the flow reports them: a personal API key is named whenever it was written. */
function envLine(file: string | null, variables: string[] | null): string {
  if (file === null || variables === null) return ''
  return `Wrote ${variables.join(', ')} to ${file}.\n`
}

export function renderProjectCreate(result: ProjectCreateResult): string {
  const id = serverText(result.project_id)
  const head =
    result.created === false
      ? `Project ${serverText(result.project.id)} already existed for --id ${id}: the same project as before, nothing was created.`
      : result.created === true
        ? `Created project ${serverText(result.project.id)} for --id ${id}.`
        : `Project ${serverText(result.project.id)} is ready for --id ${id} (onramp could not tell whether it already existed).`
  return `${head}\n${projectLines(result.project)}${envLine(result.env_file, result.env_variables)}`
}

export function renderProjectShow(result: ProjectShowResult): string {
  return `${projectLines(result.project)}${envLine(result.env_file, result.env_variables)}`
}

export function renderProjectRotate(result: ProjectRotateResult): string {
  return `New API key for project ${serverText(result.project.id)}; the previous key no longer works.\n${projectLines(result.project)}${envLine(result.env_file, result.env_variables)}`
}

export function renderProjectRemove(result: ProjectRemoveResult): string {
  if (!result.removed) return `Nothing removed: project ${serverText(result.id)} was kept.\n`
  return `Removed project ${serverText(result.id)}.\n`
}
