module github.com/borgrun/borgrun

go 1.26
