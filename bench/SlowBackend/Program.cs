// A slow origin for the coalescing benchmark: each request holds one of <concurrency> slots for <delay-ms>
// (an application bound by a database or a worker pool), then answers 100 bytes. GET /__count answers how
// many requests have reached it, so the benchmark can tell what fraction of its load got through the proxy.
// With <delay-ms> 0 it answers at once from memory: bench/cache.sh's "Kestrel floor", the fastest any answer from a
// Kestrel application's memory (a Prox cache hit among them) can be on this machine.
// usage: dotnet SlowBackend.dll <port> <delay-ms> <concurrency> [<body-bytes>]
var port = args.Length > 0 ? args[0] : "5000";
var delay = TimeSpan.FromMilliseconds(args.Length > 1 ? int.Parse(args[1]) : 20);
var slots = new SemaphoreSlim(args.Length > 2 ? int.Parse(args[2]) : 4);
long count = 0;
var body = System.Text.Encoding.ASCII.GetBytes(new string('x', (args.Length > 3 ? int.Parse(args[3]) : 100) - 1) + "\n");

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
    if (delay == TimeSpan.Zero)
    {
        ctx.Response.ContentType = "text/plain";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
        return;
    }
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
    await ctx.Response.Body.WriteAsync(body);
});
app.Run();
