import ArgumentParser
import NPYExp
print("npyexp")
