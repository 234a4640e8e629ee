/**
 * @facedet/cli: the `facedet` command. The executable is `dist/bin.js`; these modules are exported for programs
 * that embed the command (`Cli.run`) or reuse its pieces (exit codes, rendering, media sniffing).
 *
 * @since 0.1.0
 */

/** The command tree and `run(argv)`, which returns an exit code. */
export * as Cli from "./Cli.js"
/** The command's own failures (usage, files, media, uploads, downloads, serving). */
export * as CliError from "./CliError.js"
/** The exit-code table and the mapping from every failure to it. */
export * as ExitCode from "./ExitCode.js"
/** Saving face crops as face-<id>.jpg. */
export * as FaceCrops from "./FaceCrops.js"
/** Durations as typed on the command line (90s, 5m, 1h30m) and as printed. */
export * as HumanDuration from "./HumanDuration.js"
/** Local media arguments: classification, opening, sniffing, output folders. */
export * as LocalMedia from "./LocalMedia.js"
/** Image or video, from a file's bytes or a URL's extension. */
export * as MediaKind from "./MediaKind.js"
/** Where the command writes: stdout for results, stderr for progress and errors. */
export * as Output from "./Output.js"
/** The live (terminal) or plain (pipe) progress of a wait. */
export * as Progress from "./Progress.js"
/** Human and JSON renderings of results and errors. */
export * as Render from "./Render.js"
/** The server a command talks to, its client, and whether it is a facedet server. */
export * as Target from "./Target.js"
