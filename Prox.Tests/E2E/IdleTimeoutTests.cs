using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>
/// <c>timeouts.idle</c> (longest silence between body bytes, fresh on every attempt) against <c>timeouts.request</c>
/// (the wait for response headers, across attempts), with real Kestrel backends.
/// </summary>
public sealed class IdleTimeoutTests
{
    /// <summary>Writes <paramref name="chunks"/> one by one, flushed, each after <paramref name="gap"/>.</summary>
    private static RequestDelegate Drip(int chunks, TimeSpan gap) => async ctx =>
    {
        ctx.Response.ContentType = "text/plain";
        for (var i = 0; i < chunks; i++)
        {
            if (i > 0) await Task.Delay(gap, ctx.RequestAborted);
            await ctx.Response.WriteAsync($"chunk{i};", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
    };

    private static string Dripped(int chunks) => string.Concat(Enumerable.Range(0, chunks).Select(i => $"chunk{i};"));

    /// <summary>Sends the first chunk, then nothing until the proxy gives up.</summary>
    private static readonly RequestDelegate Stall = async ctx =>
    {
        await ctx.Response.WriteAsync("first;", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        await Hang(ctx);
    };

    private static async Task Hang(HttpContext ctx)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // the proxy gave up, as it should
        }
    }

    private static Task<ProxUnderTest> StartAsync(TestBackend backend, string timeouts, string extra = "retries.attempts = 0") =>
        ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = b, url = "{{backend.Url}}" } ]
              timeouts { {{timeouts}} }
              {{extra}}
            }
            """);

    [Fact]
    public async Task Stream_LongerThanRequestTimeout_GapsBelowIdle_CompletesWhole()
    {
        await using var backend = await TestBackend.StartAsync("b", Drip(4, TimeSpan.FromMilliseconds(700)));
        await using var prox = await StartAsync(backend, "request = 400ms, idle = 2s");

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/events");
        var body = await resp.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(Dripped(4), body);
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(2), $"the stream took {sw.Elapsed}, not longer than the request timeout");
    }

    // idle above the request timeout: YARP's activity timeout is the idle limit; below it: Prox watches the reads
    [Theory]
    [InlineData("request = 300ms, idle = 700ms")]
    [InlineData("request = 3s, idle = 700ms")]
    public async Task Stream_GapLongerThanIdle_AbortsClientResponse_CountsAsBackendFailure(string timeouts)
    {
        await using var backend = await TestBackend.StartAsync("b", Stall);
        await using var prox = await StartAsync(backend, timeouts);

        using var resp = await prox.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        await using var stream = await resp.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        var first = await stream.ReadAsync(buffer);
        Assert.Equal("first;", Encoding.ASCII.GetString(buffer, 0, first));

        var sw = Stopwatch.StartNew();
        // a connection abort, never a clean (shorter) end of the body
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            while (await stream.ReadAsync(buffer) > 0) { }
        });
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 500, 2500);
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", "b")).GetProperty("failures").GetInt64() == 1, what: "the timeout counted as the backend's failure");
    }

    // headers, then silence before any body byte: nothing has reached the client, so the timeout is answered with 504
    [Theory]
    [InlineData("request = 300ms, idle = 700ms")]
    [InlineData("request = 3s, idle = 700ms")]
    public async Task HeadersThenSilence_LongerThanIdle_504(string timeouts)
    {
        await using var backend = await TestBackend.StartAsync("b", async ctx =>
        {
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted); // Kestrel holds the headers back until a flush
            await Hang(ctx);
        });
        await using var prox = await StartAsync(backend, timeouts);

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/events");

        Assert.Equal(HttpStatusCode.GatewayTimeout, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 600, 2500);
    }

    [Fact]
    public async Task RetriedAttempt_GetsTheFullIdleLimit_ThoughMostOfTheBudgetIsSpent()
    {
        var requests = 0;
        RequestDelegate handler = async ctx =>
        {
            if (Interlocked.Increment(ref requests) == 1)
            {
                // the first attempt spends most of the request budget, then fails in a way that is retried
                await Task.Delay(600, ctx.RequestAborted);
                ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }
            await Drip(3, TimeSpan.FromMilliseconds(600))(ctx);
        };
        await using var b1 = await TestBackend.StartAsync("b1", handler);
        await using var b2 = await TestBackend.StartAsync("b2", handler);
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              backends = [ { id = b1, url = "{{b1.Url}}" }, { id = b2, url = "{{b2.Url}}" } ]
              timeouts { request = 1s, idle = 2s }
              retries { attempts = 1, on = [503], backoff = 0s, max-backoff = 0s }
            }
            """);

        using var resp = await prox.Client.GetAsync("/events");
        var body = await resp.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(Dripped(3), body);
        Assert.Equal(2, Volatile.Read(ref requests));
    }

    [Theory]
    [InlineData("request = 500ms, idle = 5s")]
    [InlineData("request = 500ms, idle = 100ms")]
    public async Task HeadersLate_PastRequestTimeout_504(string timeouts)
    {
        await using var backend = await TestBackend.StartAsync("b", async ctx =>
        {
            await Task.Delay(3000, ctx.RequestAborted);
            await ctx.Response.WriteAsync("too late");
        });
        await using var prox = await StartAsync(backend, timeouts);

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/slow");

        Assert.Equal(HttpStatusCode.GatewayTimeout, resp.StatusCode);
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 400, 2000);
    }

    [Fact]
    public async Task HeadersWithinRequestTimeout_IdleShorter_StillWaitsForThem()
    {
        await using var backend = await TestBackend.StartAsync("b", async ctx =>
        {
            await Task.Delay(600, ctx.RequestAborted);
            await ctx.Response.WriteAsync("late but in time");
        });
        await using var prox = await StartAsync(backend, "request = 2s, idle = 150ms");

        using var resp = await prox.Client.GetAsync("/slow");

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("late but in time", await resp.Content.ReadAsStringAsync());
    }

    // the request timeout is the wait for headers once the upload is done, not a limit on the upload itself
    [Theory]
    [InlineData("request = 400ms, idle = 2s")]
    [InlineData("request = 400ms, idle = 1s, connect = 1s")]
    public async Task Upload_LongerThanRequestTimeout_GapsBelowIdle_Forwarded(string timeouts)
    {
        await using var backend = await TestBackend.StartAsync("b", async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            await ctx.Response.WriteAsync("got " + await reader.ReadToEndAsync(ctx.RequestAborted));
        });
        await using var prox = await StartAsync(backend, timeouts);

        using var resp = await prox.Client.PostAsync("/upload", new DripContent(3, TimeSpan.FromMilliseconds(350)));

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("got part0;part1;part2;", await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Upload_GapLongerThanIdle_Shorter_ThanRequest_504()
    {
        await using var backend = await TestBackend.StartAsync("b", async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            await ctx.Response.WriteAsync("got " + await reader.ReadToEndAsync(ctx.RequestAborted));
        });
        await using var prox = await StartAsync(backend, "request = 5s, idle = 300ms");

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.PostAsync("/upload", new DripContent(2, TimeSpan.FromMilliseconds(1500)));

        Assert.Equal(HttpStatusCode.GatewayTimeout, resp.StatusCode);
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 200, 3000);
    }

    // an upgraded connection is copied both ways by YARP: its body is not wrapped, and it keeps YARP's activity timeout
    [Fact]
    public async Task Upgrade_IdleShorterThanRequest_EchoesBothWays()
    {
        await using var backend = await TestBackend.StartAsync("b", async ctx =>
        {
            var upgrade = ctx.Features.Get<IHttpUpgradeFeature>()!;
            ctx.Response.Headers.Connection = "Upgrade";
            ctx.Response.Headers.Upgrade = "websocket";
            await using var stream = await upgrade.UpgradeAsync();
            var buffer = new byte[64];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, n));
                await stream.FlushAsync();
            }
        });
        await using var prox = await StartAsync(backend, "request = 3s, idle = 200ms");

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, prox.ProxyUrl.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
            + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
        var head = await ReadUntilAsync(stream, "\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 101", head, StringComparison.Ordinal);

        foreach (var word in new[] { "ping;", "pong;" })
        {
            await Task.Delay(400); // longer than the idle limit, shorter than the request timeout
            await stream.WriteAsync(Encoding.ASCII.GetBytes(word));
            Assert.Equal(word, await ReadUntilAsync(stream, ";"));
        }
    }

    private static async Task<string> ReadUntilAsync(Stream stream, string end)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!text.ToString().EndsWith(end, StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, cts.Token) == 0) break;
            text.Append((char)one[0]);
        }
        return text.ToString();
    }

    /// <summary>A chunked request body sent in parts with a pause before each but the first.</summary>
    private sealed class DripContent(int parts, TimeSpan gap) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < parts; i++)
            {
                if (i > 0) await Task.Delay(gap);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"part{i};"));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
