// Package agecfg decrypts the age-encrypted configs of the deploy repo with
// the host's identity file: age X25519 identities (age-keygen), or an SSH
// ed25519 or RSA private key, as the age tool accepts them. Binary and
// ASCII-armored files are both read.
//
// Its errors never hold plaintext, key material or a line of the file: the
// age library quotes malformed header lines, and a file named .age may hold
// anything, so each failure is reported in this package's own words (a
// sentinel for callers to branch on, ErrDecrypt, and what went wrong).
//
// The identity file is read at each decryption, so a rotated key is used
// without a restart; Check warns, as ssh does, about one that others can
// read.
package agecfg
