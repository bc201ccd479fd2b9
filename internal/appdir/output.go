package appdir

import "strings"

// An error that quotes what a program printed (the last lines of app.log,
// a hook's or the health command's output) quotes it with QuoteOutput:
// "; <intro>:" then each line on a line of its own, indented by two
// spaces, and a newline after the last. The error stays one readable
// message for logs and status; SplitOutput takes it apart again for a
// notification, whose text must be one line (the quoted lines go to its
// detail). This is the one place that spells the form, so the two cannot
// disagree.

// quoteIndent starts each quoted line.
const quoteIndent = "\n  "

// QuoteOutput quotes lines for an error message; "" when there are none.
// A line's own newlines and carriage returns are made spaces, so a quoted
// line is one line.
func QuoteOutput(intro string, lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("; " + intro + ":")
	for _, l := range lines {
		b.WriteString(quoteIndent + strings.NewReplacer("\n", " ", "\r", " ").Replace(l))
	}
	b.WriteString("\n")
	return b.String()
}

// SplitOutput splits a message into a summary with no quoted lines and the
// quoted lines (each block's lines, joined by newlines; blocks separated
// by a newline). Where lines were cut out the summary says "(see detail)".
// Any other newline of the message becomes a space, so the summary is one
// line.
func SplitOutput(msg string) (summary, output string) {
	var sum, out []string
	rest := msg
	for {
		i := strings.Index(rest, quoteIndent)
		if i < 0 {
			break
		}
		sum = append(sum, rest[:i])
		block := rest[i+1:]
		end := strings.Index(block, "\n")
		var lines []string
		for end >= 0 && strings.HasPrefix(block, "  ") {
			lines = append(lines, block[2:end])
			block = block[end+1:]
			end = strings.Index(block, "\n")
		}
		if end < 0 && strings.HasPrefix(block, "  ") { // the last line, unterminated
			lines = append(lines, block[2:])
			block = ""
		}
		sum = append(sum, " (see detail)")
		out = append(out, strings.Join(lines, "\n"))
		rest = block
	}
	sum = append(sum, rest)
	summary = strings.Join(strings.Fields(strings.Join(sum, "")), " ")
	return summary, strings.Join(out, "\n")
}
