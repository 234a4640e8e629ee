/** This server's upload URLs: `<public URL>/uploads/<32-character token>`. */

const uploadPath = /^\/uploads\/([A-Za-z0-9]{32})$/

/** Recognises this server's upload URLs (exact origin and path); the token, or undefined. */
export const uploadTokenOf = (publicUrl: string, url: string): string | undefined => {
  if (!url.startsWith(`${publicUrl}/uploads/`)) return undefined
  return uploadPath.exec(url.slice(publicUrl.length))?.[1]
}
