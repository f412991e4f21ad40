package daemon

import (
	"encoding/json"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/record"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// RecordOptions are --record.dir and its retention: each poll's market recorded for backtests
// (docs/backtest.md).
type RecordOptions struct {
	Dir      string
	MaxAge   time.Duration
	MaxBytes units.Base2Bytes
}

// AddFlags defines --record.dir and its retention on cmd (run and record).
func (r *RecordOptions) AddFlags(cmd *kingpin.CmdClause) {
	cmd.Flag("record.dir", "Record each poll's markets here, for vastwatch backtest.").PlaceHolder("DIR").StringVar(&r.Dir)
	cmd.Flag("record.retention.time", "Drop recorded hours older than this (0: keep).").Default("0s").DurationVar(&r.MaxAge)
	cmd.Flag("record.retention.size", "Drop the oldest recorded hours beyond this size, e.g. 10GiB (0: no limit).").Default("0").BytesVar(&r.MaxBytes)
}

// wholeMarkets hides the client's streamed search, so an observation keeps every market's
// offers whole: a recording holds every field of every offer, not the digests a market no
// fleet rents from is otherwise reduced to (docs/backtest.md "Recording").
type wholeMarkets struct{ scaler.API }

// openRecorder starts recording when --record.dir is set.
func (d *Daemon) openRecorder() error {
	if d.o.Record.Dir == "" {
		return nil
	}
	w, err := record.Open(record.Options{Dir: d.o.Record.Dir, MaxAge: d.o.Record.MaxAge, MaxBytes: int64(d.o.Record.MaxBytes),
		Logger: d.logger.With("component", "record")})
	if err != nil {
		return err
	}
	d.recorder = w
	d.logger.Info("recording the market", "dir", d.o.Record.Dir, "retention_time", d.o.Record.MaxAge, "retention_size", d.o.Record.MaxBytes)
	return nil
}

// record writes a successful poll's markets. A failed write is logged; the next poll starts a
// new segment.
func (d *Daemon) record(cfg *policy.Config, obs *scaler.Observation) {
	if d.recorder == nil {
		return
	}
	ms := make([]record.MarketOffers, 0, len(cfg.Markets))
	for _, m := range cfg.Markets {
		q, err := json.Marshal(m.Query)
		if err != nil {
			q = []byte(m.QueryText)
		}
		ms = append(ms, record.MarketOffers{Market: record.Market{Name: m.Name, Query: string(q)}, Offers: obs.Offers[m.Name]})
	}
	if err := d.recorder.Record(obs.At, ms); err != nil {
		d.logger.Warn("poll not recorded", "err", err)
	}
}
