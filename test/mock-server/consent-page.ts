/**
 * The browser-facing pages (server.md sections 3 and 4): consent with Authorize / Deny buttons that POST
 * a real form (hidden inputs carry the request), the redirect_uri error page, and the login page.
 * Plain HTML, usable by a real browser and by a test that parses the form.
 */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[char] ?? char)
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body>
${body}
</body>
</html>
`
}

function hiddenInputs(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `  <input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n')
}

export interface ConsentPage {
  appName: string
  userEmail: string
  scopes: readonly string[]
  /** Where the form posts (absolute URL). */
  action: string
  /** The request, carried through the form so the POST can be validated again. */
  fields: Record<string, string | undefined>
}

/** Consent: lists the scopes; Authorize posts `decision=allow`, Deny `decision=deny`. */
export function renderConsentPage({appName, userEmail, scopes, action, fields}: ConsentPage): string {
  const items = scopes.map((scope) => `    <li><code>${escapeHtml(scope)}</code></li>`).join('\n')
  return page(
    `Authorize ${appName}`,
    `<main>
<h1>Authorize ${escapeHtml(appName)}</h1>
<p>Signed in as <strong id="user">${escapeHtml(userEmail)}</strong>.</p>
<p><strong>${escapeHtml(appName)}</strong> is asking for access to your account:</p>
<ul id="scopes">
${items}
</ul>
<form id="consent" method="post" action="${escapeHtml(action)}">
${hiddenInputs(fields)}
  <button type="submit" name="decision" value="allow" id="authorize">Authorize</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</main>`,
  )
}

/** Shown instead of a redirect when the redirect target cannot be trusted (server.md section 3). */
export function renderErrorPage({title, message}: {title: string; message: string}): string {
  return page(title, `<main>\n<h1>${escapeHtml(title)}</h1>\n<p id="error">${escapeHtml(message)}</p>\n</main>`)
}

/** "Not logged in -> login page": one button signs the mock's user in and returns to `next`. */
export function renderLoginPage({action, next, email}: {action: string; next: string; email: string}): string {
  return page(
    'Log in',
    `<main>
<h1>Log in to continue</h1>
<form id="login" method="post" action="${escapeHtml(action)}">
${hiddenInputs({next, email})}
  <button type="submit" id="log-in">Log in as ${escapeHtml(email)}</button>
</form>
</main>`,
  )
}

export interface ProvisioningConsentPage {
  appName: string
  userEmail: string
  scopes: readonly string[]
  state: string
  teams: ReadonlyArray<{id: number; name: string}>
  /** The no-script fallback form's target (absolute URL); it answers with the redirect itself. */
  formAction: string
  /** The real API the script calls: GET pending, POST confirm, POST deny (absolute URLs). */
  pendingUrl: string
  confirmUrl: string
  denyUrl: string
}

/**
 * The agentic consent page (`/agentic/authorize?state=`, server.md section 4 "Consent for existing users").
 * With scripts on (a real browser), it calls `GET …/authorize/pending/`, then `POST …/authorize/confirm/`
 * `{state, team_id}` and navigates to the `redirect_url` it gets back, as PostHog's page does. Without
 * scripts (scripts/scripted-browser.mjs, a form parser), the same form posts to `formAction`, which
 * redirects. Both paths end at the app's first redirect URI.
 */
export function renderProvisioningConsentPage(page: ProvisioningConsentPage): string {
  const items = page.scopes.map((scope) => `    <li><code>${escapeHtml(scope)}</code></li>`).join('\n')
  const options = page.teams.map((team) => `    <option value="${team.id}">${escapeHtml(team.name)}</option>`).join('\n')
  const urls = JSON.stringify({pending: page.pendingUrl, confirm: page.confirmUrl, deny: page.denyUrl}).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Authorize ${escapeHtml(page.appName)}</title></head>
<body>
<main>
<h1>Authorize ${escapeHtml(page.appName)}</h1>
<p>Signed in as <strong id="user">${escapeHtml(page.userEmail)}</strong>.</p>
<p><strong>${escapeHtml(page.appName)}</strong> is asking for access to your account:</p>
<ul id="scopes">
${items}
</ul>
<form id="consent" method="post" action="${escapeHtml(page.formAction)}">
  <input type="hidden" name="state" value="${escapeHtml(page.state)}">
  <label for="team_id">Project</label>
  <select name="team_id" id="team_id">
${options}
  </select>
  <button type="submit" name="decision" value="allow" id="authorize">Authorize</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
<p id="status" role="status"></p>
</main>
<script>
(() => {
  const urls = ${urls};
  const consent = document.getElementById('consent');
  const status = document.getElementById('status');
  const fail = (message) => { status.textContent = message; for (const button of consent.querySelectorAll('button')) button.disabled = true; };
  const state = consent.elements.state.value;
  fetch(urls.pending + '?state=' + encodeURIComponent(state), {credentials: 'same-origin'})
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error('This authorization link is invalid or expired.'))))
    .catch((error) => fail(error.message));
  consent.addEventListener('submit', async (event) => {
    event.preventDefault();
    const allow = !event.submitter || event.submitter.value === 'allow';
    const body = allow ? {state, team_id: Number(consent.elements.team_id.value)} : {state};
    try {
      const response = await fetch(allow ? urls.confirm : urls.deny, {method: 'POST', credentials: 'same-origin', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)});
      const answer = await response.json();
      if (!response.ok || !answer.redirect_url) return fail(answer.detail || 'The authorization failed.');
      window.location.assign(answer.redirect_url);
    } catch (error) {
      fail(error.message);
    }
  });
})();
</script>
</body>
</html>
`
}
