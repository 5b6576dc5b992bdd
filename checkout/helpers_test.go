package checkout

import "time"

type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
