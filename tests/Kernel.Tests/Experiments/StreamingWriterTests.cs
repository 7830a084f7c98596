using FluentAssertions;
using Kernel.Lab.Experiments;
using NUnit.Framework;

namespace Kernel.Tests.Experiments;

/// <summary>Reads under a streaming writer: what each elevator does to the reader.</summary>
[Parallelizable(ParallelScope.All)]
public class StreamingWriterTests
{
    private static readonly string[] Elevators = ["noop", "deadline", "anticipatory", "cfq"];

    [Test]
    public void DeadlineBoundsTheReadersLatencyWhereNoopLetsItQueueBehindTheWrites()
    {
        var results = Elevators.Select(e => StreamingWriter.Run(new StreamingWriterOptions { Elevator = e, Reads = 40 }))
            .ToDictionary(r => r.Elevator);
        foreach (var r in results.Values)
        {
            TestContext.Out.WriteLine($"{r.Elevator}: p50 {r.Percentile(50) / 1e6:0.0} ms p99 {r.Percentile(99) / 1e6:0.0} ms max {r.ReadLatenciesNs[^1] / 1e6:0.0} ms, {r.ThroughputMBps:0.0} MB/s, {r.Seeks} seeks of {r.MeanSeekCylinders:0} cylinders, {r.SimulatedNs / 1e6:0} ms");
        }
        var noop = results["noop"];
        var deadline = results["deadline"];
        results["anticipatory"].ReadLatenciesNs.Should().HaveCount(40);
        noop.Percentile(99).Should().BeGreaterThan(2 * deadline.Percentile(99), "noop serves the reader behind every queued write");
        deadline.Percentile(99).Should().BeLessThan(500_000_000 + 200_000_000, "deadline serves an expired read within read_expire plus a batch");
        deadline.BytesWritten.Should().BePositive();
        var cfq = results["cfq"];
        cfq.Percentile(50).Should().BeLessThan(deadline.Percentile(50) / 2, "the reader's own queue keeps the disk through its slice, idling between its reads");
        cfq.Percentile(99).Should().BeLessThan(deadline.Percentile(99), "async write slices are short (40 ms or 16 requests)");
    }
}
