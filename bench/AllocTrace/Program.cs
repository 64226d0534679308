// usage: dotnet AllocTrace.dll <pid> <seconds> [top]
// Listens to the process's GC AllocationTick events (EventPipe) for <seconds> and prints, per allocated type, the share
// of sampled bytes: each event stands for the ~100 KB allocated since the previous one, attributed to the type whose
// allocation crossed the threshold, so a type's share of events estimates its share of all bytes allocated.
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length < 2 || !int.TryParse(args[0], out var pid) || !int.TryParse(args[1], out var seconds))
{
    Console.Error.WriteLine("usage: AllocTrace <pid> <seconds> [top]");
    return 2;
}
var top = args.Length > 2 && int.TryParse(args[2], out var t) ? t : 30;
var client = new DiagnosticsClient(pid);
var providers = new[]
{
    new EventPipeProvider(ClrTraceEventParser.ProviderName, EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC),
};
using var session = client.StartEventPipeSession(providers, requestRundown: false);
var bytes = new Dictionary<string, long>();
long total = 0;
var source = new EventPipeEventSource(session.EventStream);
source.Clr.GCAllocationTick += e =>
{
    var name = e.TypeName ?? "?";
    bytes[name] = bytes.GetValueOrDefault(name) + e.AllocationAmount64;
    total += e.AllocationAmount64;
};
var stop = Task.Delay(TimeSpan.FromSeconds(seconds)).ContinueWith(_ => session.Stop());
source.Process();
await stop;
Console.WriteLine($"| type | share of sampled bytes | sampled MB |");
Console.WriteLine("|---|---:|---:|");
foreach (var (name, b) in bytes.OrderByDescending(kv => kv.Value).Take(top))
    Console.WriteLine($"| `{name}` | {100.0 * b / Math.Max(1, total):0.0} % | {b / 1e6:0.0} |");
Console.WriteLine($"\ntotal sampled: {total / 1e6:0.0} MB");
return 0;
