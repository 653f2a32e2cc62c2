"""The product driven from outside, as its users run it, for tests/ and benchmarks/ alike: `fer-serve` as a process
on a loopback port (`serve_process`) and the web page in headless Chromium (`web_page`)."""
