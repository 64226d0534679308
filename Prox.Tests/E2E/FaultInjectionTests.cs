using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>
/// What a client sees when a backend fails in the middle of an exchange, injected by a <see cref="FaultRelay"/> between
/// a real Prox and a real Kestrel backend: a blackhole is a 504 at the request timeout; a reset before the response
/// headers is a 502, or a retry on another backend for a request without a body; a backend that dies or stops
/// mid-body aborts the client's connection (never a clean, shorter message) and counts as the backend's failure.
/// </summary>
public class FaultInjectionTests
{
    private const int BodyLength = 1000;
    private static readonly string Body = new('x', BodyLength);

    /// <summary>A backend whose body is <see cref="BodyLength"/> bytes: with a Content-Length, or chunked.</summary>
    private static Task<TestBackend> BodyBackendAsync(string name, bool chunked = false) =>
        TestBackend.StartAsync(name, async ctx =>
        {
            if (!chunked) ctx.Response.ContentLength = BodyLength;
            await ctx.Response.WriteAsync(Body);
        });

    /// <summary>One backend <c>a</c> at <paramref name="url"/>; no ejection gets in the way of counting outcomes.</summary>
    private static Task<ProxUnderTest> StartOneAsync(Uri url, string extra = "") => ProxUnderTest.StartAsync($$"""
        routes.r {
          backends = [ { id = a, url = "{{url}}" } ]
          passive { failures-to-eject = 100 }
          {{extra}}
        }
        """);

    /// <summary>A backend, the relay in front of it, a Prox routing to the relay, and another backend the route may have.</summary>
    private sealed class Rig(TestBackend backend, FaultRelay relay, ProxUnderTest prox, TestBackend? other = null) : IAsyncDisposable
    {
        public TestBackend Backend => backend;
        public FaultRelay Relay => relay;
        public ProxUnderTest Prox => prox;
        public TestBackend Other => other!;

        public async ValueTask DisposeAsync()
        {
            await prox.DisposeAsync();
            await relay.DisposeAsync();
            await backend.DisposeAsync();
            if (other is not null) await other.DisposeAsync();
        }
    }

    /// <param name="backend">The backend behind the relay; a <see cref="BodyBackendAsync"/> by default.</param>
    private static async Task<Rig> StartRigAsync(FaultMode mode, int bodyBytes = 100, string extra = "", TestBackend? backend = null)
    {
        backend ??= await BodyBackendAsync("a");
        var relay = new FaultRelay(backend.Url, mode) { BodyBytes = bodyBytes };
        return new Rig(backend, relay, await StartOneAsync(relay.Url, extra));
    }

    /// <summary>The response's status and headers came, then its body broke off: reading it throws, never a short body.</summary>
    private static async Task AssertBodyAbortedAsync(HttpResponseMessage resp)
    {
        await using var stream = await resp.Content.ReadAsStreamAsync();
        await Assert.ThrowsAnyAsync<IOException>(() => stream.CopyToAsync(Stream.Null));
    }

    private static async Task AssertOutcomesAsync(ProxUnderTest prox, string backend, long requests, long failures)
    {
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.BackendStatusAsync("r", backend)).GetProperty("requests").GetInt64() >= requests,
            what: $"{requests} outcomes reported for {backend}");
        var status = await prox.BackendStatusAsync("r", backend);
        Assert.Equal(requests, status.GetProperty("requests").GetInt64());
        Assert.Equal(failures, status.GetProperty("failures").GetInt64());
    }

    private static async Task AssertProblemAsync(HttpResponseMessage resp, HttpStatusCode expected)
    {
        Assert.Equal(expected, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Blackhole_504ProblemAtTheRequestTimeout()
    {
        await using var rig = await StartRigAsync(FaultMode.Blackhole, extra: "timeouts { request = 1s }");
        var (relay, prox) = (rig.Relay, rig.Prox);

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/");
        sw.Stop();

        await AssertProblemAsync(resp, HttpStatusCode.GatewayTimeout);
        // at the configured timeout, not much later; never a hang
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 950, 3000);
        Assert.Equal(1, relay.Faults);
        await AssertOutcomesAsync(prox, "a", requests: 1, failures: 1);
    }

    [Fact]
    public async Task ResetBeforeHeaders_OnlyBackend_502Problem()
    {
        await using var rig = await StartRigAsync(FaultMode.ResetBeforeHeaders);
        var (relay, prox) = (rig.Relay, rig.Prox);

        using var resp = await prox.Client.GetAsync("/");

        await AssertProblemAsync(resp, HttpStatusCode.BadGateway);
        Assert.True(relay.Faults >= 1);
        await AssertOutcomesAsync(prox, "a", requests: 1, failures: 1);
    }

    /// <summary>Backend <c>bad</c> behind a relay that resets before the response headers, <c>good</c> (the rig's
    /// <see cref="Rig.Other"/>) direct; round robin, so the first pick alternates.</summary>
    private static async Task<Rig> StartPairAsync()
    {
        var bad = await BodyBackendAsync("bad");
        var good = await BodyBackendAsync("good");
        var relay = new FaultRelay(bad.Url, FaultMode.ResetBeforeHeaders);
        var prox = await ProxUnderTest.StartAsync($$"""
            routes.r {
              load-balancing = round-robin, backend-header = true
              backends = [ { id = bad, url = "{{relay.Url}}" }, { id = good, url = "{{good.Url}}" } ]
              retries { attempts = 1, backoff = 10ms }
              passive { failures-to-eject = 100 }
            }
            """);
        return new Rig(bad, relay, prox, good);
    }

    [Fact]
    public async Task ResetBeforeHeaders_TwoBackends_IdempotentRequestRetriedOnTheOther()
    {
        await using var rig = await StartPairAsync();
        var (badBackend, good, prox) = (rig.Backend, rig.Other, rig.Prox);

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            using var resp = await prox.Client.SendAsync(new HttpRequestMessage(method, "/"));
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
            Assert.Equal("good", resp.Headers.GetValues("X-Backend-Used").Single());
            Assert.Equal(Body, await resp.Content.ReadAsStringAsync());
        }
        // round robin sent at least one first try to bad: the retries were exercised, and each counted against bad
        Assert.True(badBackend.Hits >= 1, "no request was tried on the failing backend: the test proved nothing");
        var failures = (await prox.BackendStatusAsync("r", "bad")).GetProperty("failures").GetInt64();
        Assert.True(failures >= 1, $"bad failures {failures}");
    }

    [Fact]
    public async Task ResetBeforeHeaders_TwoBackends_PostWithBodyNeverRetried()
    {
        await using var rig = await StartPairAsync();
        var (badBackend, good, prox) = (rig.Backend, rig.Other, rig.Prox);

        // round robin: within two POSTs one goes to bad first
        for (var i = 0; i < 4; i++)
        {
            var goodBefore = good.Hits;
            var badBefore = badBackend.Hits;
            using var resp = await prox.Client.PostAsync("/", new StringContent("a body that went out"));
            if (resp.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("good", resp.Headers.GetValues("X-Backend-Used").Single());
                continue;
            }
            await AssertProblemAsync(resp, HttpStatusCode.BadGateway);
            Assert.Equal(badBefore + 1, badBackend.Hits); // the body reached bad, once: no resend either
            Assert.Equal(goodBefore, good.Hits); // and good never saw it
            return;
        }
        Assert.Fail("no POST went to the failing backend");
    }

    [Theory]
    [InlineData(FaultMode.ResetMidBody)]
    [InlineData(FaultMode.TruncateBody)]
    public async Task DiesMidBody_ContentLength_ClientSeesTheAbort_BackendFailureCounted(FaultMode mode)
    {
        await using var rig = await StartRigAsync(mode);

        using var resp = await rig.Prox.Client.GetAsync("/", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(BodyLength, resp.Content.Headers.ContentLength);
        await AssertBodyAbortedAsync(resp); // fewer bytes than the Content-Length, then the connection ends

        Assert.Equal(1, rig.Relay.Faults);
        await AssertOutcomesAsync(rig.Prox, "a", requests: 1, failures: 1);
    }

    [Theory]
    [InlineData(FaultMode.ResetMidBody)]
    [InlineData(FaultMode.TruncateBody)]
    public async Task DiesAfterHeaders_BeforeAnyBodyByte_502Problem(FaultMode mode)
    {
        await using var rig = await StartRigAsync(mode, bodyBytes: 0);

        // nothing of the backend's response has reached the client yet, so Prox can still answer for it
        using var resp = await rig.Prox.Client.GetAsync("/");

        await AssertProblemAsync(resp, HttpStatusCode.BadGateway);
        await AssertOutcomesAsync(rig.Prox, "a", requests: 1, failures: 1);
    }

    [Theory]
    [InlineData(FaultMode.ResetMidBody)]
    [InlineData(FaultMode.TruncateBody)]
    public async Task DiesMidChunk_RawClient_NoLastChunk(FaultMode mode)
    {
        // 100 bytes of "3e8\r\n" + 1,000 bytes of data: the cut is inside the chunk
        await using var rig = await StartRigAsync(mode, backend: await BodyBackendAsync("a", chunked: true));
        var prox = rig.Prox;

        var (head, body) = await RawGetAsync(prox.ProxyUrl);

        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.OrdinalIgnoreCase);
        // the connection ended without the last chunk: a client can tell the body is incomplete
        Assert.False(body.EndsWith("0\r\n\r\n", StringComparison.Ordinal), $"clean end after {body.Length} bytes");
        Assert.True(body.Length < BodyLength, $"got {body.Length} body bytes");
        await AssertOutcomesAsync(prox, "a", requests: 1, failures: 1);
    }

    [Fact]
    public async Task StallsMidBody_ClientSeesTheAbort_BackendFailureCounted()
    {
        // the silence after the headers is bounded by timeouts.idle (the longest silence between body bytes, per
        // attempt), not by the much longer time allowed for the response headers
        await using var rig = await StartRigAsync(FaultMode.StallMidBody, extra: "timeouts { request = 5s, idle = 700ms }");
        var prox = rig.Prox;

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        await AssertBodyAbortedAsync(resp);
        sw.Stop();

        Assert.InRange(sw.Elapsed.TotalMilliseconds, 650, 5000);
        await AssertOutcomesAsync(prox, "a", requests: 1, failures: 1); // a backend that hangs, not a client that left
    }

    [Fact]
    public async Task DiesMidBody_CachedRoute_NothingStored_NextRequestWhole()
    {
        await using var rig = await StartRigAsync(FaultMode.ResetMidBody, extra: "cache { ttl = 60s }");
        var (backend, relay, prox) = (rig.Backend, rig.Relay, rig.Prox);

        using (var broken = await prox.Client.GetAsync("/c", HttpCompletionOption.ResponseHeadersRead))
            await AssertBodyAbortedAsync(broken);

        relay.Mode = FaultMode.PassThrough;
        using var resp = await prox.Client.GetAsync("/c");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(Body, await resp.Content.ReadAsStringAsync()); // the broken body was never stored
        Assert.Equal(2, backend.Hits);
    }

    [Fact]
    public async Task DiesMidBody_CoalescedRequests_NoneGetsACleanShorterBody()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rig = await StartRigAsync(FaultMode.ResetMidBody, extra: "dedup { enabled = true }",
            backend: await TestBackend.StartAsync("a", async ctx =>
            {
                await gate.Task; // the first request leads; the others follow it until the gate opens
                ctx.Response.ContentLength = BodyLength;
                await ctx.Response.WriteAsync(Body);
            }));
        var prox = rig.Prox;

        var requests = Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
        {
            using var resp = await prox.Client.GetAsync("/d", HttpCompletionOption.ResponseHeadersRead);
            if (resp.StatusCode != HttpStatusCode.OK) return resp.StatusCode.ToString();
            try
            {
                var body = await resp.Content.ReadAsStringAsync();
                return $"clean 200 with {body.Length} bytes";
            }
            catch (HttpRequestException)
            {
                return "aborted";
            }
        }));
        await ProxUnderTest.EventuallyAsync(async () =>
            (await prox.StatusAsync()).GetProperty("routes")[0].GetProperty("dedup").GetProperty("followers").GetInt64() >= 2,
            what: "two followers");
        gate.SetResult();
        var outcomes = await requests;

        // the leader's client sees the abort; its followers get no copy of the broken body: each goes its own way
        // (and meets the same fault) or is answered by Prox
        Assert.All(outcomes, o => Assert.Contains(o, new[] { "aborted", nameof(HttpStatusCode.BadGateway) }));
        Assert.Contains("aborted", outcomes);
    }

    [Fact]
    public async Task SlowDrip_GapsBelowTheTimeout_ResponseArrivesWhole()
    {
        var backend = await TestBackend.StartAsync("a", async ctx =>
        {
            ctx.Response.ContentLength = 40;
            await ctx.Response.WriteAsync(new string('d', 40));
        });
        // 40 body bytes 50 ms apart: the body takes 2 s, twice the request timeout, but no silence comes near
        // timeouts.idle (the longest silence between body bytes, per attempt); a gap above it ends the response with
        // an abort like the mid-body faults above.
        await using var rig = await StartRigAsync(FaultMode.SlowDrip, extra: "timeouts { request = 1s, idle = 300ms }", backend: backend);
        rig.Relay.DripGap = TimeSpan.FromMilliseconds(50);
        var prox = rig.Prox;

        var sw = Stopwatch.StartNew();
        using var resp = await prox.Client.GetAsync("/");
        var body = await resp.Content.ReadAsStringAsync();
        sw.Stop();

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(new string('d', 40), body);
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(1.5), $"took {sw.Elapsed}: the drip did not happen");
        await AssertOutcomesAsync(prox, "a", requests: 1, failures: 0);
    }

    [Fact]
    public async Task PassThrough_KeptAliveConnections_EveryResponseWhole()
    {
        await using var rig = await StartRigAsync(FaultMode.PassThrough);
        var (relay, prox) = (rig.Relay, rig.Prox);

        for (var i = 0; i < 5; i++)
        {
            using var resp = await prox.Client.GetAsync("/");
            Assert.Equal(Body, await resp.Content.ReadAsStringAsync());
        }
        // the relay followed the framing across kept-alive connections: five responses, none faulted
        Assert.Equal(5, relay.Responses);
        Assert.Equal(0, relay.Faults);
    }

    /// <summary>One GET over a raw connection, read until the proxy ends it (FIN or RST); returns the header block
    /// and the body bytes as sent (chunk framing included).</summary>
    private static async Task<(string Head, string Body)> RawGetAsync(Uri proxy)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxy.Port));
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: test\r\n\r\n"), SocketFlags.None);
        using var received = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
                received.Write(buffer, 0, n);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // an abort may be a reset: what arrived before it is the answer
        }
        var text = Encoding.ASCII.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"no response head: '{text}'");
        return (text[..end], text[(end + 4)..]);
    }
}
