mod common;
use common::*;
use eaof_trace::*;

#[test]
fn smoke() {
    let run = fixture(&["open a wc", "write a hello", "pwrite a 2 XY", "writev a ab cd", "open b wca", "write b 123", "write b 45", "fdatasync b", "ftruncate a 3", "fallocate a 0 10", "dup a a2", "close a2", "mkdir d", "rename a d/x", "unlink b", "fsyncdir .", "open c wcs", "write c sync"]);
    println!("{}", run.stdout);
    for c in calls(&run) { println!("{c}"); }
    println!("{:?}", run.exit);
    let py = run_in(dir(), Spawn::new("python3", ["-c", "import os; fd=os.open('f', os.O_WRONLY|os.O_CREAT|os.O_APPEND); os.write(fd, b'abc'); os.fsync(fd); os.rename('f','g'); open('h','w').write('x'*10)"]));
    for c in calls(&py) { println!("{c}"); }
    let node = run_in(dir(), Spawn::new("node", ["-e", "const fs=require('fs'); const fd=fs.openSync('f','a'); fs.writeSync(fd,'abc'); fs.fsyncSync(fd); fs.renameSync('f','g'); fs.writeFileSync('h', 'hello')"]));
    for c in calls(&node) { println!("{c}"); }
    for e in &node.events { if !matches!(e.what, What::Call(_)) { println!("{e:?}"); } }
}
