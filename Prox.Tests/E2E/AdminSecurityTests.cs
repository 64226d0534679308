using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Prox.Http.Admin;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>The admin plane with <c>prox.admin.tokens</c> configured, over real HTTP: 401, 403, roles and the audit trail.</summary>
public class AdminSecurityTests
{
    private static readonly (string Token, string Hash) Reader = AdminAuth.NewToken();
    private static readonly (string Token, string Hash) Writer = AdminAuth.NewToken();

    private static async Task<(ProxUnderTest Prox, TestBackend Backend)> StartAsync(bool tokens = true)
    {
        var backend = await TestBackend.StartAsync("a");
        var tokenBlock = tokens
            ? $$"""
              admin.tokens = [
                { name = dashboard, sha256 = "{{Reader.Hash}}", role = read }
                { name = ci, sha256 = "{{Writer.Hash}}", role = write }
              ]
              """
            : "";
        var prox = await ProxUnderTest.StartAsync($$"""
            admin.chaos = on
            {{tokenBlock}}
            routes.r { backends = [ { id = a, url = "{{backend.Url}}" } ] }
            """);
        return (prox, backend);
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string? token)
    {
        var req = new HttpRequestMessage(method, path);
        if (token is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return req;
    }

    private static async Task<JsonElement[]> AuditAsync(ProxUnderTest prox, string? token)
    {
        using var resp = await prox.Admin.SendAsync(Request(HttpMethod.Get, "/admin/audit", token));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var doc = await resp.Content.ReadFromJsonAsync<JsonElement>();
        return [.. doc.GetProperty("entries").EnumerateArray()];
    }

    [Theory]
    [InlineData("GET", "/status")]
    [InlineData("GET", "/admin/events")]
    [InlineData("GET", "/admin/audit")]
    [InlineData("POST", "/admin/chaos/crash?route=r")]
    [InlineData("GET", "/no-such-endpoint")]
    public async Task Admin_NoToken_401ProblemWithWwwAuthenticate(string method, string path)
    {
        var (prox, backend) = await StartAsync();
        await using var _ = prox;
        await using var __ = backend;

        using var resp = await prox.Admin.SendAsync(Request(new HttpMethod(method), path, null));

        Assert.Equal(HttpStatusCode.Unauthorized, resp.StatusCode);
        Assert.Equal("application/problem+json", resp.Content.Headers.ContentType?.MediaType);
        var challenge = Assert.Single(resp.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.DoesNotContain("invalid_token", challenge.Parameter);
    }

    [Fact]
    public async Task Admin_WrongToken_401InvalidToken()
    {
        var (prox, backend) = await StartAsync();
        await using var _ = prox;
        await using var __ = backend;

        using var get = await prox.Admin.SendAsync(Request(HttpMethod.Get, "/status", "not-a-token"));
        using var post = await prox.Admin.SendAsync(Request(HttpMethod.Post, "/admin/chaos/crash?route=r", Writer.Hash)); // the hash is not the token
        using var basic = new HttpRequestMessage(HttpMethod.Get, "/status");
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("ci:x"u8.ToArray()));
        using var basicResp = await prox.Admin.SendAsync(basic);

        foreach (var resp in new[] { get, post, basicResp })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, resp.StatusCode);
            Assert.Equal("Bearer", Assert.Single(resp.Headers.WwwAuthenticate).Scheme);
        }
        Assert.Contains("invalid_token", get.Headers.WwwAuthenticate.Single().Parameter);
    }

    [Fact]
    public async Task Admin_ReadToken_ReadsButPost403()
    {
        var (prox, backend) = await StartAsync();
        await using var _ = prox;
        await using var __ = backend;

        using var status = await prox.Admin.SendAsync(Request(HttpMethod.Get, "/status", Reader.Token));
        using var head = await prox.Admin.SendAsync(Request(HttpMethod.Head, "/admin/events", Reader.Token));
        using var crash = await prox.Admin.SendAsync(Request(HttpMethod.Post, "/admin/chaos/crash?route=r", Reader.Token));

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, crash.StatusCode);
        Assert.Equal("application/problem+json", crash.Content.Headers.ContentType?.MediaType);
        Assert.Contains("dashboard", await crash.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Admin_WriteToken_ReadsAndPosts202()
    {
        var (prox, backend) = await StartAsync();
        await using var _ = prox;
        await using var __ = backend;

        using var status = await prox.Admin.SendAsync(Request(HttpMethod.Get, "/status", Writer.Token));
        using var crash = await prox.Admin.SendAsync(Request(HttpMethod.Post, "/admin/chaos/crash?route=r&backend=a", Writer.Token));

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, crash.StatusCode);
    }

    [Fact]
    public async Task Healthz_TokensConfigured_OpenWithoutToken()
    {
        var (prox, backend) = await StartAsync();
        await using var _ = prox;
        await using var __ = backend;

        using var resp = await prox.Admin.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
    }

    [Fact]
    public async Task Audit_MutatingRequests_RecordedWithWhoWhatStatusAndWhen()
    {
        var (prox, backend) = await StartAsync();
        await using var _ = prox;
        await using var __ = backend;
        var before = DateTimeOffset.UtcNow;

        (await prox.Admin.SendAsync(Request(HttpMethod.Post, "/admin/chaos/crash?route=r", null))).Dispose();
        (await prox.Admin.SendAsync(Request(HttpMethod.Post, "/admin/chaos/crash?route=r", Reader.Token))).Dispose();
        (await prox.Admin.SendAsync(Request(HttpMethod.Post, "/admin/chaos/crash?route=r&backend=a", Writer.Token))).Dispose();
        (await prox.Admin.SendAsync(Request(HttpMethod.Delete, "/admin/chaos/crash", Writer.Token))).Dispose();
        (await prox.Admin.SendAsync(Request(HttpMethod.Get, "/status", Writer.Token))).Dispose(); // reads are not audited

        var entries = await AuditAsync(prox, Reader.Token);

        Assert.Equal(
            [
                ("unauthenticated", "POST", "/admin/chaos/crash?route=r", 401),
                ("dashboard", "POST", "/admin/chaos/crash?route=r", 403),
                ("ci", "POST", "/admin/chaos/crash?route=r&backend=a", 202),
                ("ci", "DELETE", "/admin/chaos/crash", 405),
            ],
            entries.Select(e => (e.GetProperty("who").GetString(), e.GetProperty("method").GetString(),
                e.GetProperty("target").GetString(), e.GetProperty("status").GetInt32())));
        Assert.All(entries, e =>
        {
            Assert.Equal("127.0.0.1", e.GetProperty("remoteAddress").GetString());
            Assert.InRange(e.GetProperty("at").GetDateTimeOffset(), before, DateTimeOffset.UtcNow);
        });
    }

    [Fact]
    public async Task Admin_NoTokensConfigured_OpenOnLoopback_AuditsAnonymousLoopback()
    {
        var (prox, backend) = await StartAsync(tokens: false);
        await using var _ = prox;
        await using var __ = backend;

        using var status = await prox.Admin.GetAsync("/status");
        using var crash = await prox.Admin.PostAsync("/admin/chaos/crash?route=r&backend=a", null);
        var entries = await AuditAsync(prox, null);

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, crash.StatusCode);
        var entry = Assert.Single(entries);
        Assert.Equal("anonymous-loopback", entry.GetProperty("who").GetString());
        Assert.Equal(202, entry.GetProperty("status").GetInt32());
    }
}
