package props_test

import (
	"fmt"

	"github.com/borgrun/borgrun/props"
)

func ExampleParse() {
	for _, a := range []string{"MemoryMax=1G", "TimeoutSec=1h 5min", "ExecStartPre=-/bin/true", "Nice=99"} {
		ps, err := props.Parse(props.Service, a)
		if err != nil {
			fmt.Println(err)
			continue
		}
		for _, p := range ps {
			fmt.Println(p.Name, p.Value.Signature(), p.Value.Value())
		}
	}
	// Output:
	// MemoryMax t 1073741824
	// TimeoutStartUSec t 3900000000
	// TimeoutStopUSec t 3900000000
	// ExecStartPre a(sasb) [{/bin/true [/bin/true] true}]
	// props: parsing "Nice=99": out of range -20..19
}
