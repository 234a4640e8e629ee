/**
 * @facedet/http-server: see README.md. Built out by its own issue.
 */
export {}
