package agenthost

import (
	"strings"

	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/internal/envfile"
)

// dirVar is the setting of an app file that names its app directory.
const dirVar = "RECONCILER_DIR"

// ParseAppFile reads an app file's settings: RECONCILER_* only, since an
// app gets no environment of its own.
func ParseAppFile(f appset.File) ([]envfile.Var, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	vars, err := envfile.Parse(f.Path, f.Data)
	if err != nil {
		return nil, err
	}
	for _, v := range vars {
		if !strings.HasPrefix(v.Name, "RECONCILER_") {
			return nil, &envfile.Error{File: f.Path, Line: v.Line,
				Msg: v.Name + ": an app file holds RECONCILER_* settings only; give the agent its environment in its unit"}
		}
	}
	return vars, nil
}
