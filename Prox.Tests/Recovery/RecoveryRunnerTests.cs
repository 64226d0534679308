using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Recovery;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Recovery;

/// <summary>The real runner: child processes (no shell) and HTTP requests against a real Kestrel.</summary>
public sealed partial class RecoveryRunnerTests : IDisposable
{
    private readonly RecoveryRunner _runner = new();

    public void Dispose() => _runner.Dispose();

    private static RecoveryConfig Command(TimeSpan? timeout = null, params string[] command) =>
        RecoveryConfig.Default with { Command = [.. command], Timeout = timeout ?? TimeSpan.FromSeconds(10) };

    private static RecoveryConfig HttpAction(Uri url, string method = "POST", string? body = null, TimeSpan? timeout = null,
        params KeyValuePair<string, string>[] headers) =>
        RecoveryConfig.Default with { Http = new RecoveryHttp(url, method, [.. headers], body), Timeout = timeout ?? TimeSpan.FromSeconds(10) };

    private Task<RecoveryActionResult> Run(RecoveryConfig cfg) => _runner.RunAsync(cfg, CancellationToken.None);

    // ---- commands ----

    [Fact]
    public async Task RunAsync_ExitZero_Ok()
    {
        var r = await Run(Command(null, "/bin/true"));

        Assert.True(r.Ok);
        Assert.Equal("exit code 0", r.Detail);
    }

    [Fact]
    public async Task RunAsync_NonZeroExit_FailedWithCodeAndOutput()
    {
        var r = await Run(Command(null, "/bin/sh", "-c", "echo restarting; echo 'unit not found' >&2; exit 3"));

        Assert.False(r.Ok);
        Assert.Equal("exit code 3; stdout: restarting; stderr: unit not found", r.Detail);
    }

    [Fact]
    public async Task RunAsync_ArgumentsPassedVerbatim_NoShell()
    {
        var r = await Run(Command(null, "/bin/echo", "$(whoami)", "a;b", "two words"));

        Assert.True(r.Ok);
        Assert.Equal("exit code 0; stdout: $(whoami) a;b two words", r.Detail);
    }

    [Fact]
    public async Task RunAsync_LargeOutput_DrainedAndBounded()
    {
        // 1 MB on stdout would block the child on a full pipe if it were not drained
        var r = await Run(Command(null, "/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x"));

        Assert.True(r.Ok, r.Detail);
        Assert.Equal("exit code 0; stdout: " + new string('x', RecoveryRunner.MaxOutput), r.Detail);
    }

    [Fact]
    public async Task RunAsync_Timeout_KillsProcessTree_Failed()
    {
        var pidFile = Path.GetTempFileName();
        try
        {
            // the shell waits for its own child: killing only the shell would leave the sleep behind
            var r = await Run(Command(TimeSpan.FromMilliseconds(500), "/bin/sh", "-c", $"sleep 30 & echo $! > {pidFile}; wait"));

            Assert.False(r.Ok);
            Assert.StartsWith("no exit within 500 ms; process tree killed", r.Detail);
            Assert.InRange(r.Duration, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(6));
            var sleepPid = int.Parse(File.ReadAllText(pidFile).Trim());
            await ProxUnderTest.EventuallyAsync(() => Task.FromResult(!IsAlive(sleepPid)), TimeSpan.FromSeconds(5), "grandchild killed");
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    [Fact]
    public async Task RunAsync_BackgroundChildKeepsPipesOpen_ResultNotStalled()
    {
        // what a restart script does: start the server in the background and exit
        var r = await Run(Command(null, "/bin/sh", "-c", "sleep 30 & echo started $!; exit 0"));
        var pid = int.Parse(PidOutput().Match(r.Detail).Groups[1].Value);
        try
        {
            Assert.True(r.Ok);
            Assert.InRange(r.Duration, TimeSpan.Zero, TimeSpan.FromSeconds(5)); // not the sleep's 30 s
            Assert.True(IsAlive(pid)); // the started server lives on
        }
        finally
        {
            using var child = Process.GetProcessById(pid);
            child.Kill();
        }
    }

    [Fact]
    public async Task RunAsync_ProgramMissing_FailedCouldNotStart()
    {
        var r = await Run(Command(null, "/nonexistent/restart-app"));

        Assert.False(r.Ok);
        Assert.StartsWith("could not start /nonexistent/restart-app: ", r.Detail);
    }

    // ---- HTTP ----

    [Fact]
    public async Task RunAsync_Http2xx_Ok_SendsMethodHeadersAndBody()
    {
        string? seen = null;
        await using var controller = await TestBackend.StartAsync("controller", async ctx =>
        {
            var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            seen = $"{ctx.Request.Method} {ctx.Request.Path} {ctx.Request.Headers["X-Token"]} {ctx.Request.ContentType} {body}";
            ctx.Response.StatusCode = StatusCodes.Status202Accepted;
            await ctx.Response.WriteAsync("restart\nqueued");
        });

        var r = await Run(HttpAction(new Uri(controller.Url, "/restart"), "PUT", "{\"app\":1}", null,
            new("X-Token", "s3cret"), new("Content-Type", "application/json")));

        Assert.True(r.Ok, r.Detail);
        Assert.Equal("HTTP 202: restart queued", r.Detail);
        Assert.Equal("PUT /restart s3cret application/json {\"app\":1}", seen);
    }

    [Fact]
    public async Task RunAsync_HttpErrorStatus_Failed()
    {
        await using var controller = await TestBackend.StartAsync("controller", ctx =>
        {
            ctx.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return ctx.Response.WriteAsync("boom");
        });

        var r = await Run(HttpAction(new Uri(controller.Url, "/restart")));

        Assert.False(r.Ok);
        Assert.Equal("HTTP 500: boom", r.Detail);
    }

    [Fact]
    public async Task RunAsync_HttpConnectionRefused_Failed()
    {
        using var dead = new DeadPort();

        var r = await Run(HttpAction(new Uri(dead.Url, "/restart")));

        Assert.False(r.Ok);
        Assert.Equal("connection failed", r.Detail);
    }

    [Fact]
    public async Task RunAsync_HttpNoAnswerInTime_Failed()
    {
        await using var controller = await TestBackend.StartAsync("controller", async ctx =>
            await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted));

        var r = await Run(HttpAction(new Uri(controller.Url, "/restart"), timeout: TimeSpan.FromMilliseconds(300)));

        Assert.False(r.Ok);
        Assert.Equal("no answer within 300 ms", r.Detail);
    }

    private static bool IsAlive(int pid)
    {
        // a killed child of a dead parent is reaped by init; until then /proc shows it as a zombie (state Z)
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return false;
        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"started (\d+)")]
    private static partial Regex PidOutput();
}
