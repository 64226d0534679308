// Bare YARP baseline: forward everything to one backend, nothing else. Lean: no logging providers (ASP.NET Core's
// defaults, console, debug and EventSource, cost every request something), invariant globalization and the same
// runtime and GC settings as Prox (see BareYarp.csproj), so bench/run.sh compares Prox with the cheapest forwarder
// YARP can be, not with YARP's defaults.
// usage: dotnet BareYarp.dll <listen-port> <backend-url>   (or env BAREYARP_PORT / BAREYARP_BACKEND)
var port = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("BAREYARP_PORT") ?? "5000";
var backend = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("BAREYARP_BACKEND") ?? "http://127.0.0.1:8080";

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
builder.Services.AddHttpForwarder();

var app = builder.Build();
app.MapForwarder("/{**catch-all}", backend);
app.Run();
