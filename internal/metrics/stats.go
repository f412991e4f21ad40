package metrics

import (
	"cmp"
	"slices"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// sample is one value with an integer weight (how many ranks it occupies).
type sample struct {
	v float64
	w int
}

// nearestRank returns the nearest-rank percentiles of weighted samples: the samples sorted by
// value, each repeated w times, and percentile p is the element at rank ⌈p/100 × W⌉ (at least
// 1), W the total weight. It sorts s in place. Samples with w ≤ 0 are ignored.
func nearestRank(s []sample) Percentiles {
	s = slices.DeleteFunc(s, func(x sample) bool { return x.w <= 0 })
	if len(s) == 0 {
		return Percentiles{}
	}
	slices.SortFunc(s, func(a, b sample) int { return cmp.Compare(a.v, b.v) })
	total := 0
	for _, x := range s {
		total += x.w
	}
	var p Percentiles
	p.Valid = true
	for i, pct := range Percents {
		rank := max(1, (pct*total+99)/100) // integer ceil: no float rounding at exact ranks
		cum := 0
		for _, x := range s {
			cum += x.w
			if cum >= rank {
				p.Values[i] = x.v
				break
			}
		}
	}
	return p
}

// groupStats computes one group's statistics (see GroupStats for the semantics).
func groupStats(labels []string, offers []*vastapi.Offer) GroupStats {
	g := GroupStats{Labels: labels, Offers: len(offers)}
	price := make([]sample, 0, len(offers))
	perf := make([]sample, 0, len(offers))
	for _, o := range offers {
		price = append(price, sample{o.DphTotal, 1})
		if o.DphTotal > 0 && o.DLPerf > 0 {
			perf = append(perf, sample{o.DLPerf / o.DphTotal, 1})
		}
	}
	g.Price = nearestRank(price)
	g.DLPerfPerDollar = nearestRank(perf)
	g.GPUPrice = nearestRank(gpuSamples(offers))
	return g
}

// gpuSamples turns offers into per-GPU price samples weighted by GPU count. Offers of one
// machine whose gpu_ids overlap (directly or through a chain of offers) form one cluster: its
// distinct GPUs are counted once, at the per-GPU price of the cluster's largest offer (most
// GPUs; the lowest offer id on a tie). Offers without GPUs are left out; an offer without
// gpu_ids shares nothing.
func gpuSamples(offers []*vastapi.Offer) []sample {
	byMachine := map[int64][]*vastapi.Offer{}
	var machines []int64
	for _, o := range offers {
		if o.NumGPUs <= 0 {
			continue
		}
		if _, ok := byMachine[o.MachineID]; !ok {
			machines = append(machines, o.MachineID)
		}
		byMachine[o.MachineID] = append(byMachine[o.MachineID], o)
	}
	out := make([]sample, 0, len(offers))
	for _, m := range machines {
		for _, c := range overlapClusters(byMachine[m]) {
			rep := c.offers[0]
			for _, o := range c.offers[1:] {
				if o.NumGPUs > rep.NumGPUs || (o.NumGPUs == rep.NumGPUs && o.ID < rep.ID) {
					rep = o
				}
			}
			out = append(out, sample{rep.DphTotal / float64(rep.NumGPUs), c.gpus})
		}
	}
	return out
}

type cluster struct {
	offers []*vastapi.Offer
	gpus   int // distinct GPUs of the cluster
}

// overlapClusters partitions one machine's offers into groups connected by shared gpu_ids.
func overlapClusters(offers []*vastapi.Offer) []cluster {
	if len(offers) == 1 {
		return []cluster{{offers: offers, gpus: gpuCount(offers[0])}}
	}
	parent := make([]int, len(offers))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[int64]int{} // gpu id -> first offer holding it
	for i, o := range offers {
		for _, id := range o.GPUIDs {
			if j, ok := owner[id]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[id] = i
			}
		}
	}
	idx := map[int]int{} // root -> cluster index
	var out []cluster
	for i, o := range offers {
		r := find(i)
		k, ok := idx[r]
		if !ok {
			k = len(out)
			idx[r] = k
			out = append(out, cluster{})
		}
		out[k].offers = append(out[k].offers, o)
	}
	for k := range out {
		if len(out[k].offers) == 1 {
			out[k].gpus = gpuCount(out[k].offers[0])
			continue
		}
		seen := map[int64]bool{}
		for _, o := range out[k].offers {
			for _, id := range o.GPUIDs {
				seen[id] = true
			}
		}
		out[k].gpus = len(seen)
	}
	return out
}

// gpuCount is an offer's GPUs: its distinct gpu_ids, or num_gpus when the ids are missing.
func gpuCount(o *vastapi.Offer) int {
	if len(o.GPUIDs) == 0 {
		return o.NumGPUs
	}
	seen := make(map[int64]struct{}, len(o.GPUIDs))
	for _, id := range o.GPUIDs {
		seen[id] = struct{}{}
	}
	return len(seen)
}
