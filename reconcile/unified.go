package reconcile

// UnifiedDiff renders old and new as `diff -u` does, under "---" and "+++"
// lines naming them; "" if they are equal. It is diff's rendering of a
// config change, for other commands that show a file's change (reconciler
// bump --dry-run).
func UnifiedDiff(oldName, newName string, old, new []byte) string {
	return unifiedDiff(oldName, newName, old, new)
}
