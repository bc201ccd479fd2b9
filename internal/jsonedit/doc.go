// Package jsonedit changes values of a JSON text in place: it finds the
// byte spans of the values to replace, and splices new values in, so that
// every other byte of the file (key order, indentation, spacing, a final
// newline or its absence) stays as it was. reconciler bump edits the
// deploy repo's desired files with it, so that a bump's diff shows only
// the values that changed.
//
// # Invariants
//
//   - Set replaces exactly the span of the old value; the bytes before and
//     after it are copied unchanged. A new member is added after the last
//     member of its object, with the separators and indentation that the
//     last member has; Delete removes the member and one of the commas
//     next to it.
//   - Only valid JSON is edited (encoding/json's rules); an object with a
//     key given twice is refused, since which one counts is not defined.
//
// # Caveats
//
//   - Values are addressed by object keys only: an element of an array is
//     replaced with the whole array.
//   - A new value is written by encoding/json (no HTML escaping), indented
//     like the object it goes into when that object spans several lines.
package jsonedit
