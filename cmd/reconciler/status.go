package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
)

func newStatusCmd(stdout io.Writer) *cobra.Command {
	var (
		c      Config
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status --dir DIR [--json]",
		Short: "Show the applied version, links, last poll and errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			layout, err := openDir(cmd, &c)
			if err != nil {
				return err
			}
			st, err := readStatus(layout)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return st.Render(stdout)
		},
	}
	c.addDirFlag(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the same as GET /status)")
	return cmd
}
