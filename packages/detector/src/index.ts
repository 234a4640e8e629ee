/**
 * @facedet/detector: see README.md. Built out by its own issue.
 */
export {}
