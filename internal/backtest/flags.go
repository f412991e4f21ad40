package backtest

import (
	"github.com/alecthomas/kingpin/v2"
)

// AddFlags defines `vastwatch backtest`'s flags on cmd, as exporter-toolkit's kingpinflag
// defines the web flags, and returns what they will hold once parsed.
func AddFlags(cmd *kingpin.CmdClause) *CLI {
	b := &CLI{}
	cmd.Flag("config", "A config to backtest; repeat it to compare configs.").Required().PlaceHolder("FILE").ExistingFilesVar(&b.Configs)
	cmd.Flag("recording", "A recording of vastwatch run or record --record.dir.").PlaceHolder("DIR").ExistingDirVar(&b.Recording)
	cmd.Flag("from", "Start of the recording to replay (RFC 3339 or Unix seconds).").PlaceHolder("TIME").StringVar(&b.From)
	cmd.Flag("to", "End of the recording to replay.").PlaceHolder("TIME").StringVar(&b.To)
	cmd.Flag("scenario", "A simulated market instead: "+scenarioList+".").PlaceHolder("NAME").EnumVar(&b.Scenario, Scenarios...)
	cmd.Flag("seed", "Seed of the scenario and of the simulated failures.").Default("1").Int64Var(&b.Seed)
	cmd.Flag("days", "Days a scenario runs.").Default("30").IntVar(&b.Days)
	cmd.Flag("demand", "A demand-driven fleet's demand: FLEET=FILE.csv (time,value rows) or FLEET="+shapeList+".").PlaceHolder("DEMAND").StringMapVar(&b.Demand)
	cmd.Flag("boot.delay", "How long a new instance loads before it runs.").Default(DefaultBootDelay.String()).DurationVar(&b.BootDelay)
	cmd.Flag("boot.failure-rate", "Share of new instances that fail to boot (a recording; scenarios set their own).").Default("0.02").Float64Var(&b.BootFailure)
	cmd.Flag("host.failures-per-day", "Host failures per running instance and day (a recording).").Default("0.02").Float64Var(&b.HostFailuresPerDay)
	cmd.Flag("output", "Report format: table, json or html.").Short('o').Default("table").EnumVar(&b.Output, Outputs...)
	cmd.Flag("output-file", "Write the report here instead of standard output.").PlaceHolder("FILE").StringVar(&b.OutputFile)
	return b
}
