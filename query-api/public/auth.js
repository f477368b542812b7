// API key handling: `#key=…` links, localStorage, and the sign-in form.

const STORAGE_KEY = 'procstream.apiKey'

// Fallback when localStorage is unavailable, so a key typed in still works until the page reloads.
let memoryKey = null

/**
 * Moves a key passed as `#key=…` (the link `npm start` prints) into storage and strips it from the URL,
 * so it does not linger in the address bar, history or screenshots.
 */
export function takeKeyFromHash() {
  const { location, history } = window
  if (!location.hash.includes('key=')) return null
  const params = new URLSearchParams(location.hash.slice(1))
  const key = params.get('key')?.trim()
  params.delete('key')
  const rest = params.toString()
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`)
  if (!key) return null
  storeKey(key)
  return key
}

export function storedKey() {
  try {
    return localStorage.getItem(STORAGE_KEY)
  } catch {
    // Storage can be disabled (privacy settings); the key then lives only for this page load.
    return memoryKey
  }
}

export function storeKey(key) {
  memoryKey = key
  try {
    localStorage.setItem(STORAGE_KEY, key)
  } catch {
    // See storedKey.
  }
}

export function forgetKey() {
  memoryKey = null
  try {
    localStorage.removeItem(STORAGE_KEY)
  } catch {
    // See storedKey.
  }
}

/**
 * Shows the sign-in form in `root` and resolves once `validate(key)` accepts a key; the key is stored
 * before resolving.
 *
 * @param {HTMLElement} root element holding the form (see index.html, #signin)
 * @param {{ validate: (key: string) => Promise<unknown>, message?: string }} options
 * @returns {Promise<{ key: string, identity: unknown }>}
 */
export function signIn(root, { validate, message }) {
  const form = root.querySelector('form')
  const input = root.querySelector('input[name="key"]')
  const button = root.querySelector('button[type="submit"]')
  const error = root.querySelector('.signin-error')

  error.textContent = message ?? ''
  input.value = ''
  root.hidden = false
  input.focus()

  return new Promise((resolve) => {
    async function onSubmit(event) {
      event.preventDefault()
      const key = input.value.trim()
      if (!key) {
        error.textContent = 'Enter an API key.'
        return
      }
      button.disabled = true
      error.textContent = 'Checking…'
      try {
        const identity = await validate(key)
        storeKey(key)
        form.removeEventListener('submit', onSubmit)
        root.hidden = true
        error.textContent = ''
        resolve({ key, identity })
      } catch (err) {
        error.textContent = err?.unauthorized
          ? 'This key was rejected.'
          : `Could not check the key: ${err instanceof Error ? err.message : String(err)}`
        input.select()
      } finally {
        button.disabled = false
      }
    }
    form.addEventListener('submit', onSubmit)
  })
}
