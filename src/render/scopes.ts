import type {ScopeCheckReport, SurfaceCheck} from '../flows/check-scopes.js'
import type {ScopesDescription} from '../flows/describe-scopes.js'
import {neverAdvertisedReason, requiredScopesFor, scopesFor, SURFACES} from '../scopes/constant.js'
import {serverText} from '../terminal-text.js'
import {listOrDash, renderTable, yesNo} from './table.js'

/** `onramp scopes`: the constant as a table. */
export function renderScopesTable(description: ScopesDescription): string {
  const rows = description.entries.map((entry) => {
    const reason = neverAdvertisedReason(entry.scope)
    return [
      entry.scope,
      yesNo(entry.surfaces.includes('login')),
      yesNo(entry.surfaces.includes('signup')),
      listOrDash(entry.required),
      reason ? `no (${reason})` : 'yes',
      entry.why,
    ]
  })
  return (
    renderTable(['SCOPE', 'LOGIN', 'SIGNUP', 'REQUIRED', 'ADVERTISED', 'WHY'], rows) +
    `\n${description.login.length} login scopes, ${description.signup.length} signup scopes. ` +
    'Run `onramp scopes --check` to compare them with the server.\n'
  )
}

/** `onramp scopes --check`: one row per scope and surface, then the verdict and who can fix it. */
export function renderScopeCheck(report: ScopeCheckReport): string {
  const rows: string[][] = []
  for (const surface of SURFACES) {
    const check: SurfaceCheck = report.surfaces[surface]
    for (const scope of scopesFor(surface)) {
      const required = requiredScopesFor(surface).includes(scope)
      let status = 'ok'
      if (check.missing_required.includes(scope)) status = 'MISSING (required): the request would be refused'
      else if (check.missing_optional.includes(scope)) status = 'not advertised: dropped (optional)'
      else if (check.unadvertised_expected.includes(scope)) status = 'not advertised, as expected (privileged or hidden)'
      if (check.outside_ceiling.includes(scope)) {
        status = required ? `OUTSIDE the app's ceiling (required): ${surface} would stop` : `outside the app's ceiling: dropped (optional)`
      }
      rows.push([surface, scope, required ? 'yes' : '-', status])
    }
  }
  const advertised =
    report.advertised === 'listed' ? '' : `\nThe server ${report.advertised === 'absent' ? 'does not list' : 'sent a malformed'} scopes_supported: advertised scopes were not checked.`
  const ceiling = report.ceiling
    ? `\nApp ceiling (${serverText(report.client_id)}${report.ceiling_source === 'registration' ? ', self-registered' : ''}): ${report.ceiling.map((scope) => serverText(scope)).join(' ') || '(empty: every unprivileged scope)'}`
    : '\nApp ceiling: not read (not checked).'
  const fix =
    report.ceiling_source === 'registration'
      ? `${serverText(report.client_id)} is the client onramp registered for itself (RFC 7591), and the server lets it have no more: pass --client-id with an app the server's admins registered for these scopes (or set ONRAMP_CLIENT_ID).`
      : "The scopes an app may receive are set by the server's admins: ask them to allow the missing ones."
  const notConfirmed = report.unconfirmed.map((reason) => `\n  - ${serverText(reason, 400)}`).join('')
  const verdict = !report.ok
    ? `\nFAILED: required scopes would be refused by ${report.issuer}. ${fix}\n${report.confirmed ? '' : `Not checked:${notConfirmed}\n`}`
    : report.confirmed
      ? `\nOK: every required scope can be granted by ${report.issuer}.\n`
      : `\nNOT CONFIRMED: nothing found that ${report.issuer} would refuse, but part of the check could not run:${notConfirmed}\nA scope missing from the grant would show only when the server refuses a request.\n`
  return `Scope check against ${report.issuer}\n\n` + renderTable(['SURFACE', 'SCOPE', 'REQUIRED', 'STATUS'], rows) + advertised + ceiling + verdict
}
