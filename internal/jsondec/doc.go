// Package jsondec reads JSON the way encoding/json's Unmarshal does, for the
// few Go shapes the stream package's typed resources use (strings, numbers
// kept as text or as integers, raw values, nested structs), without
// reflection and without allocating.
//
// A Decoder walks one immutable buffer. Its value methods store strings
// that alias the buffer whenever the JSON text needs no unescaping and is
// valid UTF-8, so the buffer must never be modified while those strings
// live. Everything else (escaped or ill-formed strings, a key longer than
// the decoder's scratch space) is copied.
//
// Strictness is encoding/json's: the whole input is validated, including
// values that are skipped (literal spelling, number grammar such as no "01",
// string escapes and control characters, nesting), ill-formed UTF-8 in
// strings is replaced by U+FFFD, unpaired UTF-16 surrogates in \u escapes
// decode to U+FFFD, object keys match field names exactly first and then
// by encoding/json's case folding, a repeated key overwrites the earlier
// value, null leaves a string or struct untouched, and only white space may
// follow the top-level value. Nesting deeper than MaxDepth is refused with
// an error that wraps ErrDepth; encoding/json has the same limit, so both
// accept and refuse the same documents.
//
// Errors are sticky: after the first one every method is a no-op and Err
// (or Finish) returns it. A Decoder is not safe for concurrent use; its
// zero value is ready after Reset.
package jsondec
