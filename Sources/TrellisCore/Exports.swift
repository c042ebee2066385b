// The text merge lives in its own module (no libsodium), so that `trellis-merge-file` starts
// fast; everything that imports TrellisCore sees it as before.
@_exported import TrellisText
