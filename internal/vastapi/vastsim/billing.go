package vastsim

import (
	"time"
)

// Bill is what one instance has cost so far, as the simulator billed it (docs/vast-api.md §5):
// GPU time while running, storage from its creation to its destruction.
type Bill struct {
	ID    int64
	Label string
	// GPU and Disk are the dollars billed for each; RunningSeconds the GPU-billed seconds.
	GPU, Disk      float64
	RunningSeconds float64
	Created        time.Time
	Destroyed      time.Time // zero while it lives
	// DollarsPerHour is its locked GPU price (the bid for a bid instance); StoragePerHour
	// its disk's.
	DollarsPerHour, StoragePerHour float64
}

// Billing returns every instance's bill after integrating billing up to the clock's now,
// destroyed ones included, ordered by id. Their sum is what the credit went down by.
func (s *Sim) Billing() []Bill {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	out := make([]Bill, len(s.instList))
	for i, in := range s.instList {
		out[i] = Bill{ID: in.id, Label: in.label.Or(""), GPU: in.gpuCost, Disk: in.diskCost,
			RunningSeconds: in.gpuSecs, Created: in.created, DollarsPerHour: in.dphBase,
			StoragePerHour: in.storagePerHour()}
		if in.destroyed {
			out[i].Destroyed = in.destroyedAt
		}
	}
	return out
}
