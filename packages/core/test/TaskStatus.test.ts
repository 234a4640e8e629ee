import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { TaskStatus } from "../src/index.js"

// Seeded, so a failure replays: FACEDET_PROPERTY_SEED=<seed>.
FastCheck.configureGlobal({ seed: Number(process.env.FACEDET_PROPERTY_SEED ?? 20261204) })

const known = FastCheck.constantFrom(...TaskStatus.statuses)
const unknown = FastCheck.string({ minLength: 1, maxLength: 12 }).filter((s) => !TaskStatus.isKnown(s))
const observed = FastCheck.oneof(known, unknown)

/** Every path the machine allows from `starting`, as a list of statuses. */
const legalRun = FastCheck.constantFrom<ReadonlyArray<TaskStatus.TaskStatus>>(
  ["starting"],
  ["starting", "processing"],
  ["starting", "processing", "succeeded"],
  ["starting", "processing", "failed"],
  ["starting", "failed"]
)

const rank = { starting: 0, processing: 1, succeeded: 2, failed: 2 } as const

describe("TaskStatus", () => {
  it("allows exactly the documented moves", () => {
    const allowed = new Set(["starting>processing", "starting>failed", "processing>succeeded", "processing>failed"])
    for (const from of TaskStatus.statuses) {
      for (const to of TaskStatus.statuses) {
        const r = TaskStatus.transition(from, to)
        expect(Either.isRight(r), `${from} -> ${to}`).toBe(allowed.has(`${from}>${to}`))
      }
    }
  })

  it.prop("terminal states have no way out", [known, known], ([from, to]) => {
    if (!TaskStatus.isTerminal(from)) return
    const r = TaskStatus.transition(from, to)
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left._tag).toBe("IllegalTransition")
      expect(r.left.message).toContain("final")
    }
  })

  it.prop("a legal transition always moves forward", [known, known], ([from, to]) => {
    const r = TaskStatus.transition(from, to)
    if (Either.isRight(r)) expect(rank[to]).toBeGreaterThan(rank[from])
  })

  it.prop("every path of legal transitions is accepted by the observer", [legalRun], ([run]) => {
    for (let i = 1; i < run.length; i++) expect(Either.isRight(TaskStatus.transition(run[i - 1]!, run[i]!))).toBe(true)
    expect(Either.isRight(TaskStatus.observeAll(run))).toBe(true)
  })

  it.prop(
    "the observer's view never goes backwards nor leaves a terminal status, whatever a server sends",
    [FastCheck.array(observed, { maxLength: 20 })],
    ([sequence]) => {
      let state: TaskStatus.Observation | undefined
      for (const status of sequence) {
        const r = TaskStatus.observe(state, status)
        if (Either.isLeft(r)) {
          // A regression names a known status that is behind (or leaves a terminal one).
          expect(TaskStatus.isKnown(status)).toBe(true)
          expect(state?.furthest).toBeDefined()
          continue // a client keeps its earlier view
        }
        if (state?.furthest !== undefined && r.right.furthest !== undefined) {
          expect(rank[r.right.furthest]).toBeGreaterThanOrEqual(rank[state.furthest])
          // A terminal status is never left, not even for the other terminal one.
          if (TaskStatus.isTerminal(state.furthest)) expect(r.right.furthest).toBe(state.furthest)
        }
        state = r.right
      }
    }
  )

  it.prop("unknown statuses are in flight, never terminal, and never a crash", [unknown], ([status]) => {
    expect(TaskStatus.isTerminal(status)).toBe(false)
    const r = TaskStatus.observe({ furthest: "processing", last: "processing" }, status)
    expect(r).toEqual(Either.right({ furthest: "processing", last: status }))
  })

  it("reports a regression with both statuses", () => {
    const r = TaskStatus.observeAll(["starting", "processing", "starting"])
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left.previous).toBe("processing")
      expect(r.left.observed).toBe("starting")
      expect(r.left.message).toBe("status went back from processing to starting")
    }
    expect(Either.isLeft(TaskStatus.observeAll(["succeeded", "failed"]))).toBe(true)
    expect(Either.isRight(TaskStatus.observeAll(["starting", "succeeded", "succeeded"]))).toBe(true)
  })

  describe("stages (what a server stores)", () => {
    const stage = FastCheck.constantFrom(...TaskStatus.stages)

    it("allow exactly a worker's moves", () => {
      const allowed = new Set(["queued>running", "running>queued", "running>succeeded", "running>failed"])
      for (const from of TaskStatus.stages) {
        for (const to of TaskStatus.stages) {
          for (const claimed of [false, true]) {
            const r = TaskStatus.stageAdvance(from, to, claimed)
            expect(Either.isRight(r), `${from} -> ${to}`).toBe(allowed.has(`${from}>${to}`))
          }
        }
      }
      expect(TaskStatus.stagesInto("running")).toEqual(["queued"])
      expect(TaskStatus.stagesInto("queued")).toEqual(["running"])
      expect(TaskStatus.stagesInto("succeeded")).toEqual(["running"])
      expect(TaskStatus.stagesInto("failed")).toEqual(["running"])
    })

    it("explain a refused move", () => {
      const r = TaskStatus.stageAdvance("succeeded", "queued", true)
      expect(Either.isLeft(r) && r.left.message).toBe("a succeeded task is final and cannot become queued")
      const q = TaskStatus.stageAdvance("queued", "succeeded", false)
      expect(Either.isLeft(q) && q.left.message).toBe("a queued task cannot become succeeded")
    })

    it.prop(
      "any walk a store may take shows the client a status sequence the observer accepts",
      [FastCheck.array(stage, { maxLength: 12 })],
      ([wanted]) => {
        // Follow the wanted stages, skipping the moves the machine refuses; every accepted one projects forward.
        let at: TaskStatus.Stage = "queued"
        let claimed = false
        const seen: Array<TaskStatus.TaskStatus> = [TaskStatus.ofStage(at, claimed)]
        for (const to of wanted) {
          if (Either.isLeft(TaskStatus.stageAdvance(at, to, claimed))) continue
          claimed ||= to === "running"
          at = to
          seen.push(TaskStatus.ofStage(at, claimed))
        }
        expect(Either.isRight(TaskStatus.observeAll(seen))).toBe(true)
      }
    )
  })
})
