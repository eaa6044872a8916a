import type {SessionStore} from './store.js'

/**
 * Call before anything that is lost if it cannot be saved: `login` before the browser opens (issued
 * tokens could be neither kept nor used), a refresh before it spends the refresh token. Throws the
 * store's own error (corrupt or untrusted file: exit 1; unwritable: exit 7) naming the path and the fix.
 * A backend without a write check is at least read, so a corrupt store stops here too.
 */
export async function assertStoreUsable(store: SessionStore): Promise<void> {
  if (store.checkWritable) await store.checkWritable()
  else await store.list()
}
