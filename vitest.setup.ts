import { addEqualityTesters } from "@effect/vitest"

// Structural equality for Effect data types (Option, Either, Data.Class) in expect().toEqual.
addEqualityTesters()
