// Bare YARP baseline: forward everything to one backend, nothing else.
// usage: dotnet BareYarp.dll <listen-port> <backend-url>   (or env BAREYARP_PORT / BAREYARP_BACKEND)
var port = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("BAREYARP_PORT") ?? "5000";
var backend = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("BAREYARP_BACKEND") ?? "http://127.0.0.1:8080";

var builder = WebApplication.CreateBuilder();
builder.Configuration["Logging:LogLevel:Default"] = "Warning";
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Services.AddHttpForwarder();

var app = builder.Build();
app.MapForwarder("/{**catch-all}", backend);
app.Run();
