/**
 * The engine's one error (plain synchronous code throws it); the Effect
 * layer turns it into the `CheckpointError` of `@repoman/core/Checkpoints`.
 */
export type EngineErrorReason =
  | "NotFound"
  | "Busy"
  | "RootInvalid"
  | "TooLarge"
  | "Corrupt"
  | "TargetExists"
  | "Failed"

export class EngineError extends Error {
  readonly reason: EngineErrorReason
  readonly detail: string
  /** The file or path concerned. */
  readonly subject: string
  constructor(reason: EngineErrorReason, detail: string, subject = "") {
    super(subject === "" ? detail : `${subject}: ${detail}`)
    this.reason = reason
    this.detail = detail
    this.subject = subject
  }
}
