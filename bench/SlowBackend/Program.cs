// A slow origin for the coalescing benchmark: each request holds one of <concurrency> slots for <delay-ms>
// (an application bound by a database or a worker pool), then answers 100 bytes. GET /__count answers how
// many requests have reached it, so the benchmark can tell what fraction of its load got through the proxy.
// usage: dotnet SlowBackend.dll <port> <delay-ms> <concurrency>
var port = args.Length > 0 ? args[0] : "5000";
var delay = TimeSpan.FromMilliseconds(args.Length > 1 ? int.Parse(args[1]) : 20);
var slots = new SemaphoreSlim(args.Length > 2 ? int.Parse(args[2]) : 4);
long count = 0;
var body = new string('x', 99) + "\n";

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
var app = builder.Build();
app.Run(async ctx =>
{
    if (ctx.Request.Path == "/__count")
    {
        await ctx.Response.WriteAsync(Interlocked.Read(ref count).ToString());
        return;
    }
    Interlocked.Increment(ref count);
    await slots.WaitAsync();
    try
    {
        await Task.Delay(delay);
    }
    finally
    {
        slots.Release();
    }
    ctx.Response.ContentType = "text/plain";
    await ctx.Response.WriteAsync(body);
});
app.Run();
